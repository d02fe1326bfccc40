"""The OpenAPI description of exactly the routes this server serves."""
from __future__ import annotations

_MESSAGE = {"type": "object", "properties": {
    "recipient_id": {"type": "string"}, "text": {"type": "string"},
    "buttons": {"type": "array", "items": {"type": "object", "properties": {
        "title": {"type": "string"}, "payload": {"type": "string"}}}},
    "image": {"type": "string"}, "custom": {"type": "object"}}}
_TRACKER = {"type": "object", "description": "Rasa's tracker JSON: sender_id, slots, latest_message, events, "
                                             "active_loop, latest_action_name"}
_ERROR = {"description": "what was wrong", "content": {"application/json": {"schema": {
    "type": "object", "properties": {"error": {"type": "string"}}}}}}


_FAQ_ENTRY = {"type": "object", "required": ["questions", "answer"], "properties": {
    "id": {"type": "string"}, "questions": {"type": "array", "items": {"type": "string"}},
    "answer": {"type": "object", "properties": {"text": {"type": "string"}, "buttons": {"type": "array"}}},
    "tags": {"type": "array", "items": {"type": "string"}}, "language": {"type": "string"}}}
_FAQ_LIST = {"type": "object", "properties": {"entries": {"type": "array", "items": _FAQ_ENTRY},
                                              "edit_seq": {"type": "integer"}}}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def openapi_document(version: str, served: set[str] | None = None) -> dict:
    """Only the paths in `served` (the routes actually registered) are described."""
    conversation = [{"name": "conversation_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    text_body = {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}}
    auth = [{"token": []}, {"bearer": []}]
    entry = [{"name": "entry_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "agent server", "version": version},
        "components": {"securitySchemes": {
            "token": {"type": "apiKey", "in": "query", "name": "token"},
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/webhooks/rest/webhook": {"post": {
                "summary": "Send a user message; the bot's replies come back in order (Rasa's REST channel)",
                "requestBody": _body({"type": "object", "required": ["message"], "properties": {
                    "sender": {"type": "string"}, "message": {"type": "string"}, "metadata": {"type": "object"},
                    "input_channel": {"type": "string"}}}),
                "responses": {"200": _json({"type": "array", "items": _MESSAGE}), "400": _ERROR,
                              "413": _ERROR, "429": _ERROR}}},
            "/webhooks/rest/": {"get": {"summary": "REST channel health",
                                        "responses": {"200": _json({"type": "object"})}}},
            "/model/parse": {"post": {"summary": "Parse a text with the model's NLU", "security": auth,
                                      "requestBody": _body(text_body),
                                      "responses": {"200": _json({"type": "object"}), "400": _ERROR,
                                                    "401": _ERROR}}},
            "/conversations/{conversation_id}/tracker": {"get": {
                "summary": "A conversation's tracker", "security": auth, "parameters": conversation,
                "responses": {"200": _json(_TRACKER), "401": _ERROR}}},
            "/conversations/{conversation_id}/messages": {"post": {
                "summary": "Add a user message to a conversation without running actions", "security": auth,
                "parameters": conversation, "requestBody": _body(text_body),
                "responses": {"200": _json(_TRACKER), "400": _ERROR, "401": _ERROR}}},
            "/status": {"get": {"summary": "The loaded model", "security": auth,
                                "responses": {"200": _json({"type": "object"}), "401": _ERROR}}},
            "/faq": {"get": {"summary": "The FAQ entries served now (trained ones plus live edits)",
                             "security": auth, "responses": {"200": _json(_FAQ_LIST), "401": _ERROR}}},
            "/faq/{entry_id}": {
                "get": {"summary": "One FAQ entry", "security": auth, "parameters": entry,
                        "responses": {"200": _json(_FAQ_ENTRY), "401": _ERROR, "404": _ERROR}},
                "put": {"summary": "Add or replace an FAQ entry; served when this returns, no retraining",
                        "security": auth, "parameters": entry, "requestBody": _body(_FAQ_ENTRY),
                        "responses": {"200": _json({"type": "object"}), "400": _ERROR, "401": _ERROR}},
                "delete": {"summary": "Remove an FAQ entry", "security": auth, "parameters": entry,
                           "responses": {"200": _json({"type": "object"}), "401": _ERROR, "404": _ERROR}}},
            "/version": {"get": {"summary": "Server version", "responses": {"200": _json({"type": "object"})}}},
            "/health": {"get": {"summary": "Liveness", "responses": {"200": _json({"type": "object"})}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {
                "description": "text/plain; version=0.0.4"}}}},
            "/webhooks/slack/webhook": {"post": {"summary": "Slack Events API and interactivity (signed)",
                                                 "responses": {"200": {"description": "acknowledged"}}}},
            "/webhooks/wechat": {"get": {"summary": "WeChat URL verification", "responses": {"200": {
                "description": "echostr"}}}, "post": {"summary": "WeChat messages (XML, plain or AES)",
                                                      "responses": {"200": {"description": "passive reply"}}}},
            "/webhooks/wecom": {"get": {"summary": "WeCom URL verification", "responses": {"200": {
                "description": "decrypted echostr"}}}, "post": {"summary": "WeCom messages (encrypted XML)",
                                                                "responses": {"200": {"description": "reply"}}}},
        },
    }
    if served is not None:
        doc["paths"] = {path: ops for path, ops in doc["paths"].items() if path in served}
    return doc
