"""The OpenAPI description of exactly the routes this server serves. Request schemas state what the
handlers enforce, no more and no less: a request the schema allows is accepted, one it forbids gets a
400 (tests/test_openapi_contract.py fuzzes a running server with schemathesis to keep it so)."""

from __future__ import annotations

from agent.bot.faq_entries import ANSWER_KEYS, ID_PATTERN

KIB = 1024

# A reply passes on what the domain response or the FAQ answer holds: faq.yml and PUT /faq/{id} take any JSON
# for an answer's image and links and a button's payload, and a domain response's custom is any JSON too.
_AS_WRITTEN = "usually a string; passed on as the domain response or FAQ answer has it"
_MESSAGE = {
    "type": "object",
    "required": ["recipient_id"],
    "properties": {
        "recipient_id": {"type": "string"},
        "text": {"type": "string"},
        "buttons": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"title": {"type": "string"}, "payload": {"description": _AS_WRITTEN}},
            },
        },
        "image": {"description": _AS_WRITTEN},
        "custom": {"description": "any JSON, as the domain response has it"},
    },
}
_TRACKER = {
    "type": "object",
    "description": "Rasa's tracker JSON",
    "required": ["sender_id", "conversation_id", "slots", "latest_message", "events"],
    "properties": {
        "sender_id": {"type": "string"},
        "conversation_id": {"type": "string"},
        "slots": {"type": "object"},
        "latest_message": {"type": "object"},
        "latest_event_time": {"type": "number", "nullable": True},
        "followup_action": {"type": "string", "nullable": True},
        "paused": {"type": "boolean"},
        "events": {"type": "array", "items": {"type": "object"}},
        "latest_input_channel": {"type": "string", "nullable": True},
        "active_loop": {"type": "object"},
        "latest_action": {"type": "object"},
        "latest_action_name": {"type": "string", "nullable": True},
    },
}
_PARSE = {
    "type": "object",
    "description": "Rasa's parse result",
    "required": ["text", "intent", "entities"],
    "properties": {
        "text": {"type": "string"},
        "intent": {"type": "object"},
        "intent_ranking": {"type": "array", "items": {"type": "object"}},
        "entities": {"type": "array", "items": {"type": "object"}},
        "response_selector": {"type": "object"},
        "sentiment": {
            "type": "object",
            "description": "with SentimentAnalyzer in the pipeline, for typed messages: "
            "label (negative, neutral or positive) and scores",
            "properties": {"label": {"type": "string"}, "scores": {"type": "object"}},
        },
    },
}
_ERROR = {
    "description": "what was wrong",
    "content": {
        "application/json": {
            "schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
        }
    },
}

# -- FAQ entries: the request schema is what agent.bot.faq_entries.entry_problems accepts ----------------
_NON_BLANK = {"type": "string", "pattern": r"\S", "description": "a text with at least one non-space character"}
_FAQ_ID = {
    "type": "string",
    "pattern": ID_PATTERN.pattern,
    "maxLength": 128,
    "description": "letters, digits, _ . / - (a Rasa retrieval id such as chitchat/ask_name has a slash)",
}
_ANSWER_EDIT = {
    "oneOf": [
        _NON_BLANK,
        {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {
                "text": _NON_BLANK,
                "buttons": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["title"],
                        "properties": {
                            "title": {"type": "string"},
                            "payload": {"description": "sent back when clicked, e.g. /talk_to_human"},
                        },
                    },
                },
                **{key: {} for key in ANSWER_KEYS if key not in ("text", "buttons")},
            },
        },
    ]
}
_FAQ_EDIT = {
    "type": "object",
    "required": ["questions", "answer"],
    "additionalProperties": False,
    "properties": {
        "id": {**_FAQ_ID, "description": "optional; when given it must equal the entry_id in the URL"},
        "questions": {"type": "array", "minItems": 1, "items": _NON_BLANK},
        "answer": _ANSWER_EDIT,
        "tags": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string", "nullable": True, "description": "a language code such as en or zh"},
    },
}
_FAQ_ENTRY = {
    "type": "object",
    "required": ["id", "questions", "answer"],
    "properties": {
        "id": {"type": "string"},
        "questions": {"type": "array", "items": {"type": "string"}},
        "answer": {"type": "object", "properties": {"text": {"type": "string"}, "buttons": {"type": "array"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string"},
        "response": {"type": "string", "description": "the domain response of a Rasa retrieval intent"},
    },
}
_FAQ_LIST = {
    "type": "object",
    "required": ["entries", "edit_seq"],
    "properties": {"entries": {"type": "array", "items": _FAQ_ENTRY}, "edit_seq": {"type": "integer"}},
}


# aiohttp's router answers a path no route matches (a conversation id with { or }, an FAQ id with a line break)
_NO_ROUTE = {"text/plain": {"schema": {"type": "string"}}}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict, limit: int) -> dict:
    return {
        "required": True,
        "description": f"a JSON object of at most {limit // KIB} KiB (larger: 413)",
        "content": {"application/json": {"schema": schema}},
    }


def _too_large(limit: int) -> dict:
    return {"description": f"the body is larger than {limit // KIB} KiB", "content": _ERROR["content"]}


_CONVERSATION_PARAM = [
    {
        "name": "conversation_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[^{}]+$", "description": "any non-empty text without { or }"},
    }
]
_ENTRY_PARAM = [{"name": "entry_id", "in": "path", "required": True, "schema": _FAQ_ID}]
_NO_ROUTE_RESPONSE = {"description": "no route matches the path", "content": _NO_ROUTE}
_NO_ENTRY_RESPONSE = {
    "description": "no FAQ entry has this id (or no route matches the path)",
    "content": {**_ERROR["content"], **_NO_ROUTE},
}
_TEXT = {"type": "string"}
_AUTH = [{"token": []}, {"bearer": []}]


def openapi_document(version: str, served: set[str] | None = None) -> dict:
    """Only the paths in `served` (the routes actually registered) are described."""
    from agent.server.app import body_limit

    rest, parse_limit, conversations, faq, desk = (
        body_limit(p) for p in ("/webhooks/rest/webhook", "/model/parse", "/conversations/", "/faq/", "/handoffs/")
    )
    paths = {
        **_message_paths(rest, parse_limit),
        **_conversation_paths(conversations),
        **_faq_paths(faq),
        **_handoff_paths(desk, conversations),
        **_service_paths(),
        **_channel_paths(),
    }
    if served is not None:
        paths = {path: ops for path, ops in paths.items() if path in served}
    return {
        "openapi": "3.0.3",
        "info": {"title": "agent server", "version": version},
        "components": {
            "securitySchemes": {
                "token": {"type": "apiKey", "in": "query", "name": "token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            }
        },
        "paths": paths,
    }


def _message_paths(rest: int, parse_limit: int) -> dict:
    """REST messages and NLU parsing."""
    return {
        "/webhooks/rest/webhook": {
            "post": {
                "summary": "Send a user message; the bot's replies come back in order (Rasa's REST channel)",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["message"],
                        "properties": {
                            "sender": {
                                "oneOf": [{"type": "string", "minLength": 1}, {"type": "integer"}],
                                "description": "the conversation (a number names the same one as its digits); "
                                '"default" when left out',
                            },
                            "message": _TEXT,
                            "metadata": {"type": "object", "nullable": True},
                            "input_channel": {
                                "type": "string",
                                "nullable": True,
                                "description": 'recorded on the user event; "rest" when left out',
                            },
                        },
                    },
                    rest,
                ),
                "responses": {
                    "200": _json({"type": "array", "items": _MESSAGE}),
                    "400": _ERROR,
                    "413": _too_large(rest),
                    "429": _ERROR,
                },
            }
        },
        "/webhooks/rest/": {
            "get": {
                "summary": "REST channel health",
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
                    )
                },
            }
        },
        "/model/parse": {
            "post": {
                "summary": "Parse a text with the model's NLU",
                "security": _AUTH,
                "requestBody": _body(
                    {"type": "object", "required": ["text"], "properties": {"text": _TEXT}}, parse_limit
                ),
                "responses": {"200": _json(_PARSE), "400": _ERROR, "401": _ERROR, "413": _too_large(parse_limit)},
            }
        },
    }


def _conversation_paths(limit: int) -> dict:
    """Reading and writing conversations (with --enable-api)."""
    return {
        "/conversations/{conversation_id}/tracker": {
            "get": {
                "summary": "A conversation's tracker",
                "security": _AUTH,
                "parameters": _CONVERSATION_PARAM,
                "responses": {"200": _json(_TRACKER), "401": _ERROR, "404": _NO_ROUTE_RESPONSE},
            }
        },
        "/conversations/{conversation_id}/messages": {
            "post": {
                "summary": "Add a user message to a conversation without running actions",
                "security": _AUTH,
                "parameters": _CONVERSATION_PARAM,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {
                            "text": _TEXT,
                            "sender": {"type": "string", "enum": ["user"]},
                            "metadata": {"type": "object", "nullable": True},
                        },
                    },
                    limit,
                ),
                "responses": {
                    "200": _json(_TRACKER),
                    "400": _ERROR,
                    "401": _ERROR,
                    "404": _NO_ROUTE_RESPONSE,
                    "413": _too_large(limit),
                },
            }
        },
    }


def _faq_paths(limit: int) -> dict:
    """Live FAQ edits (with --enable-api)."""
    return {
        "/faq": {
            "get": {
                "summary": "The FAQ entries served now (trained ones plus live edits)",
                "security": _AUTH,
                "responses": {"200": _json(_FAQ_LIST), "401": _ERROR},
            }
        },
        "/faq/{entry_id}": {
            "get": {
                "summary": "One FAQ entry",
                "security": _AUTH,
                "parameters": _ENTRY_PARAM,
                "responses": {"200": _json(_FAQ_ENTRY), "401": _ERROR, "404": _NO_ENTRY_RESPONSE},
            },
            "put": {
                "summary": "Add or replace an FAQ entry; served when this returns, no retraining",
                "security": _AUTH,
                "parameters": _ENTRY_PARAM,
                "requestBody": _body(_FAQ_EDIT, limit),
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["entry", "edit_seq"],
                            "properties": {"entry": _FAQ_ENTRY, "edit_seq": {"type": "integer"}},
                        }
                    ),
                    "400": _ERROR,
                    "401": _ERROR,
                    "404": _NO_ROUTE_RESPONSE,
                    "413": _too_large(limit),
                },
            },
            "delete": {
                "summary": "Remove an FAQ entry",
                "security": _AUTH,
                "parameters": _ENTRY_PARAM,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["removed", "edit_seq"],
                            "properties": {"removed": {"type": "string"}, "edit_seq": {"type": "integer"}},
                        }
                    ),
                    "401": _ERROR,
                    "404": _NO_ENTRY_RESPONSE,
                },
            },
        },
    }


_HANDOFF = {
    "type": "object",
    "description": "the conversation's handoff: bot, queued, human or closed",
    "required": ["status"],
    "properties": {
        "status": {"type": "string", "enum": ["bot", "queued", "human", "closed"]},
        "queue": {"type": "string", "nullable": True},
        "reason": {"type": "string", "nullable": True},
        "agent": {"type": "string", "nullable": True},
        "requested_at": {"type": "number", "nullable": True},
        "assigned_at": {"type": "number", "nullable": True},
        "last_agent_message_at": {"type": "number", "nullable": True},
        "summary": {"type": "string", "nullable": True},
        "desk_ref": {"type": "string", "nullable": True},
    },
}
_HANDOFF_ROW = {
    "type": "object",
    "required": ["conversation_id", "status"],
    "properties": {
        "conversation_id": {"type": "string"},
        **_HANDOFF["properties"],
        "waiting_s": {"type": "number", "nullable": True},
        "channel": {"type": "string", "nullable": True},
        "last_message": {"type": "string", "nullable": True},
    },
}
_HANDOFF_SUMMARY = {
    **_HANDOFF_ROW,
    "required": ["conversation_id", "status", "slots", "transcript"],
    "properties": {
        **_HANDOFF_ROW["properties"],
        "slots": {"type": "object"},
        "transcript": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["speaker"],
                "properties": {
                    "speaker": {"type": "string", "enum": ["user", "bot", "agent"]},
                    "text": {"type": "string", "nullable": True},
                    "intent": {"type": "string", "nullable": True},
                    "confidence": {"type": "number", "nullable": True},
                    "sentiment": {"type": "string", "nullable": True},
                    "agent": {"type": "string"},
                },
            },
        },
    },
}
_HANDOFF_CHANGED = _json(
    {
        "type": "object",
        "required": ["conversation_id", "handoff"],
        "properties": {
            "conversation_id": {"type": "string"},
            "handoff": _HANDOFF,
            "delivered": {
                "type": "boolean",
                "nullable": True,
                "description": "an agent message reached the customer's channel (null: nothing to deliver)",
            },
        },
    }
)
_CONFLICT = {**_ERROR, "description": "not possible in the conversation's handoff state (the body says which)"}
_FORBIDDEN = {**_ERROR, "description": "another agent has the conversation"}
_NO_CONVERSATION = {
    "description": "no such conversation (or no route matches the path)",
    "content": {**_ERROR["content"], **_NO_ROUTE},
}
_EVENT_STREAM = {
    "description": "server-sent events until the client disconnects",
    "content": {"text/event-stream": {"schema": _TEXT}},
}
_AGENT_AUTH = [{"token": []}, {"bearer": []}]


def _handoff_paths(limit: int, conversations: int) -> dict:
    """The agent API: people take conversations over (agents' tokens from endpoints.yml's handoff:)."""
    changed = {"200": _HANDOFF_CHANGED, "401": _ERROR, "404": _NO_CONVERSATION, "409": _CONFLICT}
    return {
        "/handoffs": {
            "get": {
                "summary": "Conversations handed to people (default: queued and human)",
                "security": _AGENT_AUTH,
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {"name": "queue", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["handoffs"],
                            "properties": {"handoffs": {"type": "array", "items": _HANDOFF_ROW}},
                        }
                    ),
                    "401": _ERROR,
                },
            }
        },
        "/handoffs/stream": {
            "get": {
                "summary": "Live handoff.* and message events for agent tools (server-sent events)",
                "security": _AGENT_AUTH,
                "responses": {"200": _EVENT_STREAM, "401": _ERROR},
            }
        },
        "/handoffs/{conversation_id}": {
            "get": {
                "summary": "What the agent needs: the handoff, slots, and the transcript with intents and sentiment",
                "security": _AGENT_AUTH,
                "parameters": _CONVERSATION_PARAM,
                "responses": {"200": _json(_HANDOFF_SUMMARY), "401": _ERROR, "404": _NO_CONVERSATION},
            }
        },
        "/handoffs/{conversation_id}/accept": {
            "post": {
                "summary": "Take a queued conversation; of agents accepting at once, exactly one wins",
                "security": _AGENT_AUTH,
                "parameters": _CONVERSATION_PARAM,
                "responses": changed,
            }
        },
        "/handoffs/{conversation_id}/messages": {
            "post": {
                "summary": "Write to the customer, through the channel they last wrote on",
                "security": _AGENT_AUTH,
                "parameters": _CONVERSATION_PARAM,
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {**_NON_BLANK, "maxLength": 4000}},
                    },
                    limit,
                ),
                "responses": {**changed, "400": _ERROR, "403": _FORBIDDEN, "413": _too_large(limit)},
            }
        },
        "/handoffs/{conversation_id}/release": {
            "post": {
                "summary": "Give the conversation back to the bot, or close it",
                "security": _AGENT_AUTH,
                "parameters": _CONVERSATION_PARAM,
                "requestBody": _body(
                    {"type": "object", "properties": {"to": {"type": "string", "enum": ["bot", "closed"]}}}, limit
                ),
                "responses": {**changed, "400": _ERROR, "403": _FORBIDDEN, "413": _too_large(limit)},
            }
        },
        "/conversations/{conversation_id}/handoff": {
            "post": {
                "summary": "Hand a conversation to a person (joins the queue; the bot falls silent)",
                "security": _AUTH,
                "parameters": _CONVERSATION_PARAM,
                "requestBody": _body(
                    {
                        "type": "object",
                        "properties": {
                            "reason": {"type": "string"},
                            "queue": {"type": "string", "minLength": 1},
                        },
                    },
                    conversations,
                ),
                "responses": {**changed, "400": _ERROR, "413": _too_large(conversations)},
            }
        },
        "/webhooks/rest/stream": {
            "get": {
                "summary": "A REST customer's live stream of what a person writes to them (server-sent events)",
                "parameters": [
                    {"name": "sender", "in": "query", "required": True, "schema": {"type": "string", "minLength": 1}}
                ],
                "responses": {"200": _EVENT_STREAM, "400": _ERROR, "503": _ERROR},
            }
        },
    }


def _service_paths() -> dict:
    """Status, version, health and metrics."""
    return {
        "/status": {
            "get": {
                "summary": "The loaded model",
                "security": _AUTH,
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["model_file", "model_id"],
                            "properties": {
                                "model_file": {"type": "string"},
                                "model_id": {"type": "string"},
                                "num_active_training_jobs": {"type": "integer"},
                            },
                        }
                    ),
                    "401": _ERROR,
                },
            }
        },
        "/version": {
            "get": {
                "summary": "Server version",
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["version"],
                            "properties": {
                                "version": {"type": "string"},
                                "minimum_compatible_version": {"type": "string"},
                            },
                        }
                    )
                },
            }
        },
        "/health": {
            "get": {
                "summary": "Liveness",
                "responses": {
                    "200": _json(
                        {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}
                    )
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {
                    "200": {
                        "description": "Prometheus text format 0.0.4",
                        "content": {"text/plain": {"schema": _TEXT}},
                    }
                },
            }
        },
    }


def _channel_paths() -> dict:
    """The Slack, WeChat and WeCom webhooks (their own wire formats)."""
    return {
        "/webhooks/slack/webhook": {
            "post": {
                "summary": "Slack Events API and interactivity (signed)",
                "responses": {"200": {"description": "acknowledged"}},
            }
        },
        "/webhooks/wechat": {
            "get": {"summary": "WeChat URL verification", "responses": {"200": {"description": "echostr"}}},
            "post": {
                "summary": "WeChat messages (XML, plain or AES)",
                "responses": {"200": {"description": "passive reply"}},
            },
        },
        "/webhooks/wecom": {
            "get": {
                "summary": "WeCom URL verification",
                "responses": {"200": {"description": "decrypted echostr"}},
            },
            "post": {"summary": "WeCom messages (encrypted XML)", "responses": {"200": {"description": "reply"}}},
        },
    }
