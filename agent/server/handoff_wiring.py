"""Human handoff in the server: the agent API and desk page (with --enable-api or agents listed in
endpoints.yml), Slack desks, and the background work that carries handoff news: other workers' news
from the bus, agent messages to REST customers' streams, this worker's news to Slack threads, and the
timeouts nobody's message reveals."""

from __future__ import annotations

import asyncio

from aiohttp import web

from agent.channels.base import Channel
from agent.server.desk_page import desk_routes
from agent.server.handoff_api import HandoffDesk, handoff_routes, relay_to_rest_streams
from agent.server.handoff_service import Handoffs
from agent.server.handoff_timeouts import HandoffTimeouts
from agent.server.slack_desk import SlackDesk


def mount_handoffs(
    app: web.Application, runner, channels: list[Channel], *, enable_api: bool, token: str | None
) -> None:
    settings = runner.agent.processor.handoff
    handoffs = Handoffs(runner, {c.name: c for c in channels})
    if enable_api or settings.agents:  # the agent API checks agents' tokens itself
        app.add_routes(handoff_routes(HandoffDesk(handoffs, settings, token), enable_api))
        app.add_routes(desk_routes())  # the page for people: GET /desk
    slack_desks = [SlackDesk(c, handoffs, runner.hub) for c in channels if getattr(c, "agents_channel", None)]
    rest = next((c for c in channels if c.name == "rest"), None)
    timeouts = HandoffTimeouts(handoffs, runner.hub)

    async def handoff_news(app: web.Application):
        work = [runner.hub.listen(), *(desk.follow() for desk in slack_desks)]
        if timeouts.needed:
            work.append(timeouts.run())
        if rest is not None:
            work.append(relay_to_rest_streams(runner.hub, rest))
        tasks = [asyncio.ensure_future(w) for w in work]
        yield
        for task in tasks:
            task.cancel()

    app.cleanup_ctx.append(handoff_news)
