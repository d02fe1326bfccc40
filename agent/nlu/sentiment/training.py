"""A sentiment head fitted on a bot's own labelled examples (a `sentiment:` section in its training
data), in place of the shipped one: the same multinomial logistic regression on the same base-encoder
embeddings, so serving does not change."""

from __future__ import annotations

import numpy as np

from agent.bot.sentiment_data import MIN_PER_LABEL, too_few
from agent.errors import Errors
from agent.nlu.sentiment.head import SentimentHead

REGULARISATION = 1.0  # scikit-learn's C; the default, not tuned on any data


def check_examples(labels: list[str]) -> None:
    found = too_few(labels)
    if found is not None:
        raise Errors.SENTIMENT_TOO_FEW.error(minimum=MIN_PER_LABEL, found=found)


def fit_head(vectors: np.ndarray, labels: list[str], encoder: str, seed: int = 0) -> SentimentHead:
    """Labels are the bot's own (two or three of negative, neutral, positive); classes balanced."""
    from sklearn.linear_model import LogisticRegression

    check_examples(labels)
    model = LogisticRegression(C=REGULARISATION, class_weight="balanced", max_iter=3000, random_state=seed)
    model.fit(vectors, labels)
    classes = tuple(str(c) for c in model.classes_)
    weight, bias = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
    if len(classes) == 2:  # scikit-learn's binary form: one logit for the second class
        weight = np.vstack([np.zeros_like(weight), weight])
        bias = np.array([0.0, bias[0]], np.float32)
    return SentimentHead(weight, bias, classes, encoder)
