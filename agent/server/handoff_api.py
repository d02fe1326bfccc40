"""The agent API: people take conversations over from the bot and give them back.

    GET  /handoffs?status=queued&queue=support   the queue (default: queued and human)
    GET  /handoffs/{id}                          what the agent needs: state, transcript with NLU, slots
    POST /handoffs/{id}/accept                   exactly one agent wins (the conversation's lock)
    POST /handoffs/{id}/messages {"text"}        to the customer, through their own channel
    POST /handoffs/{id}/release {"to": "bot"|"closed"}
    GET  /handoffs/stream                        server-sent events: handoff.* and messages
    POST /conversations/{id}/handoff             start a handoff from outside (the HTTP API)

Who is calling: with `handoff: agents:` in endpoints.yml, an agent's token (`Authorization: Bearer`
or `?token=`, which EventSource needs) names them; the server's --auth-token is accepted too, with
the agent named by the `X-Agent` header. Without agents, the API's own token rules apply and
`X-Agent` names the agent."""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import json_body
from agent.channels.sse import stream_events
from agent.core.events import AgentUttered, BotUttered, Event
from agent.core.handoff import HUMAN, QUEUED, RELEASE_TARGETS
from agent.core.tracker import Tracker
from agent.server.handoff_hub import HandoffHub
from agent.server.handoff_service import PUSHED, Handoffs, Outcome, agent_message
from agent.server.http_api import given_token

DEFAULT_AGENT = "agent"
TRANSCRIPT_MESSAGES = 50  # the agent sees this many latest messages; the tracker API has them all
MAX_TEXT = 4000  # characters in one agent message
LISTED = (QUEUED, HUMAN)


def _error(code: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=code)


class HandoffDesk:
    """The agent API's handlers over the runner's store, locks and hub."""

    def __init__(self, handoffs: Handoffs, settings: HandoffSettings, api_token: str | None):
        self.handoffs = handoffs
        self.settings = settings
        self.api_token = api_token
        self.hub: HandoffHub = handoffs.runner.hub
        self.domain = handoffs.domain
        self.store = handoffs.store

    # ------------------------------------------------------------------ who is calling

    def agent_of(self, request: web.Request) -> str | web.Response:
        given = given_token(request)
        named = request.headers.get("X-Agent", "").strip()[:64] or DEFAULT_AGENT
        if self.settings.agents:
            if given and (agent := self.settings.agent_for(given)) is not None:
                return agent
            if given and self.api_token and hmac.compare_digest(given.encode(), self.api_token.encode()):
                return named
            return _error(401, "missing or unknown agent token; pass Authorization: Bearer <token>")
        if self.api_token and not (given and hmac.compare_digest(given.encode(), self.api_token.encode())):
            return _error(401, "missing or wrong token; pass ?token= or Authorization: Bearer")
        return named

    # ------------------------------------------------------------------ reading

    async def list(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        wanted = request.query.get("status")
        statuses = LISTED if wanted in (None, "", "open") else (wanted,)
        queue = request.query.get("queue")
        found = await self.handoffs.find(lambda state: state.status in statuses and (not queue or state.queue == queue))
        rows = [_row(tracker) for tracker in found]
        rows.sort(key=lambda r: r["requested_at"] or 0.0)
        return web.json_response({"handoffs": rows})

    async def show(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        tracker = await self.store.peek(request.match_info["conversation_id"], self.domain)
        if tracker is None:
            return _error(404, "no such conversation")
        return web.json_response(await summary(tracker))

    async def stream(self, request: web.Request) -> web.StreamResponse:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        return await sse(request, self.hub)

    # ------------------------------------------------------------------ changing

    async def request_handoff(self, request: web.Request) -> web.Response:
        body = await json_body(request)
        if isinstance(body, web.Response):
            return body
        reason, queue = body.get("reason", "api"), body.get("queue", self.settings.queue)
        if not isinstance(reason, str) or not isinstance(queue, str) or not queue:
            return _error(400, '"reason" and "queue" must be strings, e.g. {"reason": "vip", "queue": "support"}')
        return _answer(await self.handoffs.request(request.match_info["conversation_id"], reason[:64], queue[:64]))

    async def accept(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        return _answer(await self.handoffs.accept(request.match_info["conversation_id"], agent))

    async def _agent_and_body(self, request: web.Request) -> tuple[str, dict] | web.Response:
        """Who is calling, and the JSON object they sent (or the 401/400 saying what is wrong)."""
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        body = await json_body(request)
        return body if isinstance(body, web.Response) else (agent, body)

    async def message(self, request: web.Request) -> web.Response:
        called = await self._agent_and_body(request)
        if isinstance(called, web.Response):
            return called
        agent, body = called
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return _error(400, f'"text" must be a non-empty string of at most {MAX_TEXT} characters')
        return _answer(await self.handoffs.say(request.match_info["conversation_id"], agent, text))

    async def release(self, request: web.Request) -> web.Response:
        called = await self._agent_and_body(request)
        if isinstance(called, web.Response):
            return called
        agent, body = called
        target = body.get("to", "bot")
        if target not in RELEASE_TARGETS:
            return _error(400, '"to" must be "bot" or "closed"')
        return _answer(await self.handoffs.release(request.match_info["conversation_id"], agent, target))


def _answer(outcome: Outcome) -> web.Response:
    return web.json_response(outcome.body, status=outcome.code)


async def relay_to_rest_streams(hub: HandoffHub, rest) -> None:
    """Every agent message the hub carries (from any worker), and what the bot said outside a turn, goes
    to the REST customer's open streams."""
    async with hub.subscribe() as queue:
        while (item := await queue.get()) is not None:
            pushed = item.kind == "message.bot" and (item.event.get("metadata") or {}).get(PUSHED)
            if item.kind == "message.agent" or pushed:
                await rest.push(item.conversation_id, [agent_message(item.conversation_id, item.event)])


def _row(tracker: Tracker) -> dict:
    state = tracker.state.handoff
    latest = tracker.latest_message
    return {
        "conversation_id": tracker.sender_id,
        **state.as_dict(),
        "waiting_s": round(time.time() - state.requested_at, 1) if state.requested_at else None,
        "channel": latest.input_channel if latest else None,
        "last_message": latest.text if latest else None,
    }


async def summary(tracker: Tracker) -> dict:
    """What an agent reads before answering: the handoff, the slots, and the latest messages with
    what the NLU made of them."""
    transcript = []
    for event in await tracker.history():
        if isinstance(event, (AgentUttered, BotUttered)) or event.type_name == "user":
            transcript.append(_line(event))
    return {
        **_row(tracker),
        "slots": {k: v for k, v in tracker.slots.items() if v is not None},
        "transcript": transcript[-TRANSCRIPT_MESSAGES:],
    }


def _line(event: Event) -> dict:
    if isinstance(event, AgentUttered):
        return {"speaker": "agent", "agent": event.agent, "text": event.text, "timestamp": event.timestamp}
    if isinstance(event, BotUttered):
        return {"speaker": "bot", "text": event.text, "timestamp": event.timestamp}
    parse = event.parse_data
    intent = parse.get("intent") or {}
    return {
        "speaker": "user",
        "text": event.text,
        "timestamp": event.timestamp,
        "intent": intent.get("name"),
        "confidence": intent.get("confidence"),
        "entities": [{"entity": e.get("entity"), "value": e.get("value")} for e in parse.get("entities") or []],
        "sentiment": (parse.get("sentiment") or {}).get("label"),
    }


async def sse(request: web.Request, hub: HandoffHub) -> web.StreamResponse:
    """The hub's news as server-sent events until the client goes away."""
    async with hub.subscribe() as queue:
        return await stream_events(request, queue, lambda item: (item.kind, item.as_dict()))


def handoff_routes(desk: HandoffDesk, with_api: bool) -> list[web.RouteDef]:
    routes = [
        web.get("/handoffs", desk.list),
        web.get("/handoffs/stream", desk.stream),
        web.get("/handoffs/{conversation_id}", desk.show),
        web.post("/handoffs/{conversation_id}/accept", desk.accept),
        web.post("/handoffs/{conversation_id}/messages", desk.message),
        web.post("/handoffs/{conversation_id}/release", desk.release),
    ]
    if with_api:  # behind the HTTP API's token, like the other /conversations routes
        routes.append(web.post("/conversations/{conversation_id}/handoff", desk.request_handoff))
    return routes
