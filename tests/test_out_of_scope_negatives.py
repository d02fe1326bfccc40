"""Out-of-scope detection without the bot author's out-of-scope data: the shipped and generated
negatives, how training picks them, the class they train, the small-sample threshold rule and the
calibration of what is served."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from agent.bot.config import FallbackConfig
from agent.bot.nlu_data import Example
from agent.nlu import negatives
from agent.nlu.calibration import sharpen
from agent.nlu.interpreter import NLUInterpreter
from agent.nlu.thresholds import MIN_SWEEP_SAMPLE, PRIOR, Scored, sweep, wilson_upper
from agent.nlu.training import negatives as training_negatives
from agent.nlu.training.calibration import _fit_mix_temperature


def test_shipped_sentences_exist_for_english_and_chinese_and_none_for_other_languages():
    english, chinese = negatives.general(["en"]), negatives.general(["zh"])
    assert len(english) >= 300 and len(set(english)) == len(english)
    assert len(chinese) >= 300 and all(re.search(r"[\u4e00-\u9fff]", t) for t in chinese)
    assert not any(t.startswith("#") for t in english + chinese)
    assert negatives.general(["fi"]) == []
    assert len(negatives.general(["en", "zh"])) == len(english) + len(chinese)


def test_generated_noise_is_reproducible_unique_and_fits_the_bot_language():
    first = negatives.generated(120, ["en"], seed=3)
    assert first == negatives.generated(120, ["en"], seed=3)
    assert first != negatives.generated(120, ["en"], seed=4)
    assert len(set(first)) == 120
    chinese = negatives.generated(120, ["zh"], seed=3)
    share = sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in chinese) / len(chinese)
    assert share > sum(bool(re.search(r"[\u4e00-\u9fff]", t)) for t in first) / len(first)


def test_languages_of_unlabelled_data():
    assert negatives.languages_of(["where is my order", "hi"]) == ["en"]
    assert negatives.languages_of(["我的订单在哪", "退货"]) == ["zh"]
    assert negatives.languages_of(["我的订单在哪", "where is my order"]) == ["en", "zh"]


def _bag_of_words(texts: list[str]) -> np.ndarray:
    vocabulary = {w: i for i, w in enumerate(sorted({w for t in texts for w in t.split()}))}
    out = np.zeros((len(texts), max(1, len(vocabulary))), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in text.split():
            out[row, vocabulary[word]] = 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def _embedder(universe: list[str]):
    matrix = _bag_of_words(universe)
    rows = {t: matrix[i] for i, t in enumerate(universe)}
    return lambda texts: np.stack([rows[t] for t in texts])


def test_negatives_near_the_bots_own_examples_are_dropped_and_some_held_out(monkeypatch):
    own = ["where is my order", "track my order please", "cancel my order", "i want to cancel"]
    shipped = ["where is my order now", "why is the sky blue", "play some jazz music", "bake a cake tonight"]
    monkeypatch.setattr(negatives, "general", lambda languages: shipped)
    monkeypatch.setattr(negatives, "generated", lambda count, languages, seed=0: ["qwe asd", "zxcv bnm"])
    train = [Example(t, "order_status" if "cancel" not in t else "cancel") for t in own]
    val = [Example("my order status", "order_status")]
    embed = _embedder(own + shipped + ["qwe asd", "zxcv bnm"])
    new_train, new_val, report = training_negatives.add_negatives(train, val, ["en"], embed, seed=1)
    added = [e.text for e in new_train[len(train) :]] + [e.text for e in new_val[len(val) :]]
    assert "where is my order now" not in added  # as close to the bot's examples as they are to each other
    assert {"why is the sky blue", "qwe asd"} <= set(added)
    assert report.dropped_near_training == 1
    assert report.held_out == len(new_val) - len(val) > 0
    assert all(e.intent == "out_of_scope" for e in new_train[len(train) :] + new_val[len(val) :])
    _, no_val, report = training_negatives.add_negatives(train, [], ["en"], embed, seed=1)
    assert no_val == [] and report.held_out == 0 and report.trained == len(added)


def _items(n_in: int, n_oos: int) -> list[Scored]:
    rng = np.random.default_rng(0)
    right = [Scored("a", "a", float(s), 0.5) for s in rng.uniform(0.5, 1.0, n_in)]
    oos = [Scored("out_of_scope", "a", float(s), 0.5) for s in rng.uniform(0.0, 0.4, n_oos)]
    return right + oos


def test_a_small_validation_slice_shrinks_the_sweep_towards_rasas_defaults():
    small = sweep(_items(50, 50))
    assert "shrunk" in small.rule
    weight = 50 / MIN_SWEEP_SAMPLE
    # the sweep alone would put the threshold between the two groups (0.4..0.5); shrinking pulls it to 0.3
    assert PRIOR[0] * (1 - weight) + 0.4 * weight - 0.02 < small.fallback < PRIOR[0] * (1 - weight) + 0.5 * weight
    assert small.ambiguity == pytest.approx(PRIOR[1] * (1 - weight), abs=0.05)
    big = sweep(_items(600, 100))
    assert big.rule == "sweep" and 0.4 <= big.fallback <= 0.5 and big.ambiguity == 0.0
    assert big.in_scope_loss_upper < small.in_scope_loss_upper


def test_wilson_upper_bound():
    assert wilson_upper(0, 55) == pytest.approx(0.065, abs=0.002)
    assert wilson_upper(10, 1000) == pytest.approx(0.0183, abs=0.001)
    assert wilson_upper(0, 0) == 1.0


def test_sharpen_keeps_the_ranking_and_makes_a_distribution():
    p = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    assert torch.equal(sharpen(p, 1.0), p)
    hot, cold = sharpen(p, 0.5), sharpen(p, 2.0)
    assert torch.equal(hot.argmax(-1), p.argmax(-1)) and torch.allclose(hot.sum(-1), torch.ones(2))
    assert (hot.max(-1).values > p.max(-1).values).all() and (cold.max(-1).values < p.max(-1).values).all()


class _Classifier:
    """Just what the fallback rule and the calibration read from an IntentClassifier."""

    def __init__(self, added: bool = True, logits_scale: float = 1.0):
        self.added_out_of_scope = added
        self.temperature, self.mix_temperature = 1.0, 1.0
        self.scale = logits_scale

    def served(self, logits, embeddings, texts):
        return sharpen(torch.softmax(logits / self.temperature, -1), self.mix_temperature), None


def _interpreter(added: bool, enabled: bool = True) -> NLUInterpreter:
    return NLUInterpreter(_Classifier(added), FallbackConfig(0.1, 0.0, enabled=enabled))


RANKING = [("out_of_scope", 0.6), ("greet", 0.3), ("order_status", 0.1)]


def test_the_learnt_out_of_scope_class_falls_back_and_leaves_the_ranking():
    parsed = _interpreter(added=True).parse_ranking("qwe asd", RANKING)
    assert parsed["intent"]["name"] == "nlu_fallback"
    assert "out_of_scope" not in [r["name"] for r in parsed["intent_ranking"]]
    # without a FallbackClassifier (Rasa never predicts nlu_fallback) the best real intent answers
    assert _interpreter(added=True, enabled=False).parse_ranking("qwe asd", RANKING)["intent"]["name"] == "greet"
    # a bot with out_of_scope examples of its own gets its intent, as in Rasa
    assert _interpreter(added=False).parse_ranking("qwe asd", RANKING)["intent"]["name"] == "out_of_scope"


def test_calibration_reports_cross_fitted_figures_and_never_an_after_worse_than_before():
    torch.manual_seed(0)
    y = torch.randint(0, 4, (400,))
    overconfident = torch.nn.functional.one_hot(y, 4).float() * 6 + torch.randn(400, 4) * 3
    classifier = _Classifier()
    report = _fit_mix_temperature(classifier, overconfident, torch.zeros(400, 2), [""] * 400, y)
    assert report["calibrated"] and report["ece_after"] < report["ece_before"]
    assert classifier.mix_temperature > 1.0 and report["ece_after_se"] > 0  # overconfident: softened
    calibrated = torch.log(torch.full((400, 4), 0.25))  # uniform and never right more than by chance
    classifier = _Classifier()
    report = _fit_mix_temperature(classifier, calibrated, torch.zeros(400, 2), [""] * 400, y)
    assert report["ece_after"] <= report["ece_before"]
    if not report["calibrated"]:
        assert (classifier.temperature, classifier.mix_temperature) == (1.0, 1.0)


def _tiny_bot(texts_by_intent: dict[str, list[str]], tmp_path):
    from tests.helpers.tiny_model import make_tiny_bert

    examples = [Example(t, intent) for intent, texts in texts_by_intent.items() for t in texts]
    bert = make_tiny_bert(tmp_path / "bert", [e.text for e in examples])
    return examples, bert


@pytest.mark.slow
def test_a_two_intent_three_example_bot_trains_warns_and_falls_back_on_gibberish(tmp_path):
    from agent.bot.config import IntentTrainingConfig
    from agent.nlu.interpreter import effective_fallback
    from agent.nlu.training import train_nlu

    examples, bert = _tiny_bot(
        {
            "greet": ["hello there", "hi", "good morning"],
            "order_status": ["where is my order", "track my parcel", "order status"],
        },
        tmp_path,
    )
    result = train_nlu(examples, IntentTrainingConfig(base_model=str(bert), max_epochs=12, random_seed=1))
    assert [p.code for p in result.problems] == ["W702"]  # the thresholds are Rasa's defaults
    assert result.negatives["trained"] >= training_negatives.MIN_TRAINED
    interpreter = NLUInterpreter(result.classifier, effective_fallback(FallbackConfig(), result.thresholds))
    gibberish = ["asdkjh qwe zzz", "blorp", "xqzv plonk"]
    assert all(interpreter.parse(t)["intent"]["name"] == "nlu_fallback" for t in gibberish)
    assert interpreter.parse("where is my order")["intent"]["name"] == "order_status"


def test_a_bot_whose_every_example_is_the_same_text_gets_a_clear_error(tmp_path):
    from agent.bot.config import IntentTrainingConfig
    from agent.errors import AgentError
    from agent.nlu.training import train_nlu

    examples = [Example("hello", "greet"), Example("Hello", "bye"), Example("hello ", "greet")]
    with pytest.raises(AgentError) as raised:
        train_nlu(examples, IntentTrainingConfig(base_model=str(tmp_path / "never-loaded")))
    assert "E727" in str(raised.value) or raised.value.code == "E727"
