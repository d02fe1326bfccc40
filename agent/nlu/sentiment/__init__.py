"""Sentiment on every message (issue 19): a small head over base-encoder sentence embeddings."""

from agent.nlu.sentiment.analyzer import FAQ, OWN, SentimentAnalyzer, base_model_of
from agent.nlu.sentiment.head import LABELS, SentimentHead, encoder_for, packaged_head, provenance

__all__ = [
    "FAQ",
    "LABELS",
    "OWN",
    "SentimentAnalyzer",
    "SentimentHead",
    "base_model_of",
    "encoder_for",
    "packaged_head",
    "provenance",
]
