"""Rasa's HTTP API (`--enable-api`): parse, read and extend conversations, status; token auth like
Rasa's `--auth-token` (query `?token=` or an `Authorization: Bearer` header)."""

from __future__ import annotations

import hmac

from aiohttp import web

from agent.channels.rest import bad_request, json_body
from agent.core.events import UserUttered
from agent.core.tracker import Tracker
from agent.server.openapi import openapi_document

PUBLIC = ("/", "/health", "/version", "/metrics", "/openapi.json")
# channels check signatures; the agent API checks agents' tokens; the desk page holds no data
OWN_AUTH = ("/webhooks/", "/handoffs", "/desk")


def token_middleware(token: str):
    """Every API route needs the token; channel webhooks have their own checks (signatures)."""

    @web.middleware
    async def check(request: web.Request, handler):
        if request.path.startswith(OWN_AUTH) or request.path in PUBLIC:
            return await handler(request)
        given = given_token(request)
        if not given or not hmac.compare_digest(given.encode(), token.encode()):
            return web.json_response(
                {"error": "missing or wrong token; pass ?token= or Authorization: Bearer"}, status=401
            )
        return await handler(request)

    return check


def given_token(request: web.Request) -> str:
    """The token a caller sent: `?token=` (what EventSource can send) or `Authorization: Bearer`."""
    header = request.headers.get("Authorization", "")
    return request.query.get("token") or (header[7:].strip() if header.lower().startswith("bearer ") else "")


async def _text_body(request: web.Request) -> dict | web.Response:
    """A JSON object with a string "text", or the 400 saying so."""
    body = await json_body(request)
    if not isinstance(body, web.Response) and not isinstance(body.get("text"), str):
        return bad_request('"text" must be a string, e.g. {"text": "where is my order"}', "api")
    return body


def api_routes(runner, model_file: str, model_id: str) -> list[web.RouteDef]:
    import agent

    agent_obj = runner.agent
    store = agent_obj.processor.store

    async def status(request: web.Request) -> web.Response:
        return web.json_response({"model_file": model_file, "model_id": model_id, "num_active_training_jobs": 0})

    async def parse(request: web.Request) -> web.Response:
        body = await _text_body(request)
        if isinstance(body, web.Response):
            return body
        return web.json_response(await runner.parse(body["text"]))

    async def tracker(request: web.Request) -> web.Response:
        sender = request.match_info["conversation_id"]
        found = await store.peek(sender, agent_obj.domain) or Tracker(sender, agent_obj.domain)
        return web.json_response(found.as_dict(await found.history()))

    async def add_message(request: web.Request) -> web.Response:
        """Like Rasa: record a user message (parsed) without running any action."""
        body = await _text_body(request)
        if isinstance(body, web.Response):
            return body
        if body.get("sender", "user") != "user":
            return bad_request('only "sender": "user" messages can be added', "api")
        metadata = body.get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            return bad_request('"metadata" must be a JSON object', "api")
        sender = request.match_info["conversation_id"]
        async with runner.locks.hold(sender):
            found = await store.get_or_create(sender, agent_obj.domain)
            event = UserUttered(
                text=body["text"],
                parse_data=await runner.parse(body["text"]),
                input_channel="http_api",
                metadata=metadata or {},
            )
            found.append(event)
            await store.save(found, [event])
        return web.json_response(found.as_dict(await found.history()))

    async def openapi(request: web.Request) -> web.Response:
        served = {r.get_info().get("path") or r.get_info().get("formatter") for r in request.app.router.resources()}
        return web.json_response(openapi_document(agent.__version__, served))

    return [
        web.get("/status", status),
        web.post("/model/parse", parse),
        web.get("/conversations/{conversation_id}/tracker", tracker),
        web.post("/conversations/{conversation_id}/messages", add_message),
        web.get("/openapi.json", openapi),
    ]
