"""A bot's own sentiment examples: the `sentiment:` section, its errors, and the head fitted on it."""

from __future__ import annotations

import numpy as np
import pytest

from agent.bot.project import load_bot
from agent.errors import AgentError, Problems
from agent.nlu.sentiment.training import fit_head
from tests.helpers.bot_factory import MINIMAL_NLU, write_bot


def _examples(label: str, n: int, indent: str = "      ") -> str:
    return "".join(f"{indent}- {label} example {i}\n" for i in range(n))


def test_a_sentiment_section_gives_the_bot_its_own_examples(tmp_path):
    nlu = MINIMAL_NLU + "sentiment:\n  - label: negative\n    examples: |\n" + _examples("negative", 10)
    nlu += "  - label: positive\n    examples: |\n" + _examples("positive", 12)
    bot = load_bot(write_bot(tmp_path / "bot", nlu=nlu))
    assert [e.label for e in bot.sentiment] == ["negative"] * 10 + ["positive"] * 12
    assert bot.sentiment[0].text == "negative example 0"


@pytest.mark.parametrize(
    "section, code",
    [
        ("sentiment:\n  - label: angry\n    examples: |\n      - grr\n", "E219"),
        ("sentiment:\n  - label: negative\n    examples: |\n" + _examples("negative", 3), "E220"),
        ("sentiment:\n  - label: positive\n    examples: |\n" + _examples("positive", 30), "E220"),  # no negative
    ],
)
def test_bad_sentiment_examples_are_errors(tmp_path, section, code):
    problems = Problems()
    with pytest.raises(AgentError) as caught:
        load_bot(write_bot(tmp_path / "bot", nlu=MINIMAL_NLU + section), problems)
        problems.raise_if_errors()
    assert code in [p.code for p in caught.value.problems.items]


@pytest.mark.parametrize("labels", [("negative", "positive"), ("negative", "neutral", "positive")])
def test_the_fitted_head_reads_the_embeddings_it_was_fitted_on(labels):
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(len(labels), 16))
    x = np.vstack([c + 0.1 * rng.normal(size=(20, 16)) for c in centres]).astype(np.float32)
    y = [label for label in labels for _ in range(20)]
    head = fit_head(x, y, encoder="test-encoder")
    assert head.labels == labels and head.weight.shape == (len(labels), 16)
    predicted = [labels[i] for i in head.probabilities(x).argmax(axis=1)]
    assert predicted == y


def test_agent_test_nlu_reads_a_sentiment_section_and_reports_how_it_reads(tmp_path):
    from types import SimpleNamespace

    from agent.cli.test import _nlu_examples
    from agent.evaluation.nlu import sentiment_report

    data = tmp_path / "test_nlu.yml"
    data.write_text(
        "nlu:\n- intent: greet\n  examples: |\n    - hello there\n"
        "sentiment:\n- label: negative\n  examples: |\n    - awful service\n    - I hate this\n"
        "- label: positive\n  examples: |\n    - lovely, thanks\n"
    )
    examples, moods = _nlu_examples(data)
    assert [e.text for e in examples] == ["hello there"] and [m.label for m in moods] == ["negative"] * 2 + ["positive"]

    def parse_batch(texts):  # reads "hate" as neutral: one miss
        return [
            {"sentiment": {"label": "negative" if "awful" in t else "positive" if "lovely" in t else "neutral"}}
            for t in texts
        ]

    report = sentiment_report(SimpleNamespace(parse_batch=parse_batch), moods)
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert (report["negative"]["precision"], report["negative"]["recall"]) == (1.0, 0.5)
