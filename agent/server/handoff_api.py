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

import asyncio
import hmac
import json
import time

from aiohttp import web

from agent.bot.handoff_settings import HandoffSettings
from agent.channels.rest import json_body
from agent.core.events import AgentUttered, BotUttered, Event, HandoffAssigned, HandoffReleased, HandoffRequested
from agent.core.handoff import CLOSED, HUMAN, QUEUED, RELEASE_TARGETS
from agent.core.tracker import Tracker
from agent.server.handoff_hub import HandoffHub
from agent.server.http_api import given_token

DEFAULT_AGENT = "agent"
TRANSCRIPT_MESSAGES = 50  # the agent sees this many latest messages; the tracker API has them all
MAX_TEXT = 4000  # characters in one agent message
KEEPALIVE_S = 15.0  # a comment line on idle streams, so proxies keep them open
LISTED = (QUEUED, HUMAN)


def _error(code: int, message: str, **extra) -> web.Response:
    return web.json_response({"error": message, **extra}, status=code)


class HandoffDesk:
    """The agent API's handlers over the runner's store, locks and hub."""

    def __init__(self, runner, settings: HandoffSettings, api_token: str | None, channels: dict):
        self.runner = runner
        self.settings = settings
        self.api_token = api_token
        self.channels = channels  # name -> Channel, for delivering agent messages
        self.hub: HandoffHub = runner.hub
        self.domain = runner.agent.domain
        self.store = runner.agent.processor.store

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
        rows = []
        for sender in await self._senders():
            tracker = await self.store.peek(sender, self.domain)
            if tracker is None:
                continue
            state = tracker.state.handoff
            if state.status in statuses and (not queue or state.queue == queue):
                rows.append(_row(tracker))
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
        event = HandoffRequested(reason=reason[:64], queue=queue[:64])
        return await self._change(request.match_info["conversation_id"], lambda t, _: [event], None, create=True)

    async def accept(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent

        def assign(tracker: Tracker, state) -> list[Event] | web.Response:
            if state.status != QUEUED:
                return _conflict(state, "only a queued conversation can be accepted")
            return [HandoffAssigned(agent=agent)]

        return await self._change(request.match_info["conversation_id"], assign, agent)

    async def message(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        body = await json_body(request)
        if isinstance(body, web.Response):
            return body
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            return _error(400, f'"text" must be a non-empty string of at most {MAX_TEXT} characters')

        def say(tracker: Tracker, state) -> list[Event] | web.Response:
            if state.status != HUMAN:
                return _conflict(state, "accept the conversation before writing to the customer")
            if state.agent != agent:
                return _error(403, f"the conversation belongs to {state.agent}", status=state.status)
            return [AgentUttered(text=text, agent=agent)]

        response = await self._change(request.match_info["conversation_id"], say, agent)
        return response

    async def release(self, request: web.Request) -> web.Response:
        agent = self.agent_of(request)
        if isinstance(agent, web.Response):
            return agent
        body = await json_body(request)
        if isinstance(body, web.Response):
            return body
        target = body.get("to", "bot")
        if target not in RELEASE_TARGETS:
            return _error(400, '"to" must be "bot" or "closed"')

        def give_back(tracker: Tracker, state) -> list[Event] | web.Response:
            if not state.silent:
                return _conflict(state, "the conversation is not with a person")
            if state.status == HUMAN and state.agent != agent:
                return _error(403, f"the conversation belongs to {state.agent}", status=state.status)
            return [HandoffReleased(by=agent, to=CLOSED if target == CLOSED else "bot")]

        return await self._change(request.match_info["conversation_id"], give_back, agent)

    async def _change(self, sender: str, decide, agent: str | None, create: bool = False) -> web.Response:
        """Decide and append under the conversation's lock, so two agents never both win."""
        async with self.runner.locks.hold(sender):
            tracker = await (self.store.get_or_create if create else self.store.retrieve)(sender, self.domain)
            if tracker is None:
                return _error(404, "no such conversation")
            state = tracker.state.handoff
            if create and state.silent:
                return _conflict(state, "the conversation is already with a person or waiting for one")
            events = decide(tracker, state)
            if isinstance(events, web.Response):
                return events
            tracker.extend(events)
            await self.store.save(tracker, events)
            handoff = tracker.state.handoff.as_dict()
            await self.hub.publish(sender, events, handoff, all_messages=True)
        delivered = await self._deliver(tracker, events)
        return web.json_response({"conversation_id": sender, "handoff": handoff, "delivered": delivered})

    async def _deliver(self, tracker: Tracker, events: list[Event]) -> bool | None:
        """Agent messages go to the customer through the channel they last wrote on (None: nothing to
        send). A REST customer's stream gets them from the hub, on whichever worker it is open."""
        messages = [agent_message(tracker.sender_id, e.as_dict()) for e in events if isinstance(e, AgentUttered)]
        if not messages:
            return None
        latest = tracker.latest_message
        channel = self.channels.get(latest.input_channel) if latest and latest.input_channel else None
        if channel is None or channel.name == "rest":
            return True  # published to the REST customer's stream(s)
        return await channel.push(tracker.sender_id, messages)

    async def _senders(self) -> list[str]:
        listing = getattr(self.store, "sender_ids", None)
        return list(await listing()) if listing is not None else []


def agent_message(recipient: str, event: dict) -> dict:
    """A person's message as channels send bot messages, marked as the person's."""
    return {
        "recipient_id": recipient,
        "text": event.get("text"),
        "agent": event.get("agent"),
        **(event.get("data") or {}),
    }


async def relay_to_rest_streams(hub: HandoffHub, rest) -> None:
    """Every agent message the hub carries (from any worker) goes to the REST customer's open streams."""
    async with hub.subscribe() as queue:
        while (item := await queue.get()) is not None:
            if item.kind == "message.agent":
                await rest.push(item.conversation_id, [agent_message(item.conversation_id, item.event)])


def _conflict(state, message: str) -> web.Response:
    return _error(409, f"{message}; it is {state.status}", status=state.status, agent=state.agent)


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


async def sse(request: web.Request, hub: HandoffHub, conversation_id: str | None = None) -> web.StreamResponse:
    """Server-sent events from the hub (one conversation's, or all) until the client goes away."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    await response.write(b": connected\n\n")
    async with hub.subscribe() as queue:
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except asyncio.TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if item is None:
                break
            if conversation_id is not None and item.conversation_id != conversation_id:
                continue
            data = json.dumps(item.as_dict(), ensure_ascii=False)
            await response.write(f"event: {item.kind}\ndata: {data}\n\n".encode())
    return response


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
