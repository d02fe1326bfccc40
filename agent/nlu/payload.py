"""Button payloads like `/inform{"size": "M"}` set the intent directly and bypass NLU, as in Rasa."""

from __future__ import annotations

import json
import re

PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)(?P<confidence>@[0-9.]+)?(?P<entities>\{.+\})?\s*$", re.DOTALL)


class PayloadError(ValueError):
    pass


def parse_payload(text: str) -> dict | None:
    """Rasa parse data for a payload message, or None when the text is not a payload."""
    m = PAYLOAD.match(text.strip())
    if not m:
        return None
    intent = m.group("intent").strip()
    confidence = 1.0
    if m.group("confidence"):
        try:
            confidence = min(1.0, max(0.0, float(m.group("confidence")[1:])))
        except ValueError:  # Rasa warns and uses 0.0 for an unreadable confidence
            confidence = 0.0
    entities = []
    if m.group("entities"):
        try:
            values = json.loads(m.group("entities"))
        except json.JSONDecodeError as exc:
            raise PayloadError(f"the entities in payload {text!r} are not valid JSON: {exc.msg}") from None
        if not isinstance(values, dict):
            raise PayloadError(f"the entities in payload {text!r} must be a JSON object")
        for name, value in values.items():
            for v in value if isinstance(value, list) else [value]:
                entities.append({"entity": name, "value": v, "start": 0, "end": len(text), "extractor": "payload"})
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": entities,
    }
