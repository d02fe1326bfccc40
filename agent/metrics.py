"""Prometheus metrics the server exposes on /metrics (standard client library, own registry).

Kept out of the server package: channels and the NLU batcher count too, and must not import it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry()
MESSAGES = Counter("agent_messages_total", "User messages handled", ["channel"], registry=REGISTRY)
LATENCY = Histogram(
    "agent_stage_seconds",
    "Time spent per stage of a turn",
    ["stage"],
    registry=REGISTRY,
    buckets=(0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12),
)
INTENTS = Counter("agent_intents_total", "Predicted intents", ["intent"], registry=REGISTRY)
FALLBACKS = Counter("agent_fallbacks_total", "Turns that ended in a fallback", ["kind"], registry=REGISTRY)
FAQ_HITS = Counter("agent_faq_hits_total", "Turns answered from the FAQ", registry=REGISTRY)
CHANNEL_ERRORS = Counter(
    "agent_channel_errors_total", "Rejected requests and failed outbound calls", ["channel", "kind"], registry=REGISTRY
)
DUPLICATES = Counter(
    "agent_duplicate_deliveries_total", "Retried deliveries answered only once", ["channel"], registry=REGISTRY
)
BATCH_SIZE = Histogram(
    "agent_nlu_batch_size", "Messages per encoder pass", registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32)
)
RATE_LIMITED = Counter(
    "agent_rate_limited_total", "Messages refused by the per-sender rate limit", ["channel"], registry=REGISTRY
)
HANDOFFS = Counter("agent_handoffs_total", "Conversations handed to a person", ["reason"], registry=REGISTRY)
HANDOFF_OUTCOMES = Counter(
    "agent_handoff_outcomes_total",
    "How handoffs ended: accepted, released, closed, abandoned (the customer cancelled or the queue timed out)",
    ["outcome"],
    registry=REGISTRY,
)
HANDOFF_QUEUE_WAIT = Histogram(
    "agent_handoff_queue_wait_seconds",
    "From the handoff request to an agent accepting it",
    registry=REGISTRY,
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
