"""The built-in entity dimensions (Duckling-like) a bot may ask for, and Duckling's other names for
them: config.yml and the domain are checked against these in the bot layer, without loading the
extractors in agent.nlu, which take their dimension names from here."""

from __future__ import annotations

DIMENSIONS = {"number", "amount-of-money", "time", "email", "phone-number", "url", "order-id"}
DUCKLING_NAMES = {
    "money": "amount-of-money",
    "amount_of_money": "amount-of-money",
    "date": "time",
    "datetime": "time",
    "phone": "phone-number",
    "phone_number": "phone-number",
    "order_id": "order-id",
    "duration": "duration",
}
