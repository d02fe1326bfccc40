"""Slack as an agent desk (HANDOFF_AND_EVENTS.md section 4): each handoff gets a thread in an agents'
channel (`agents_channel:` under `slack:` in credentials.yml); the customer's messages follow in the
thread, and what a person writes in it reaches the customer through their own channel (REST, Slack,
WeChat...). Writing to a queued handoff takes it; `!release` gives it back to the bot, `!close` closes.

The worker that handled a piece of news posts it (every worker hears all news over the bus), and the
thread's place is stored in the conversation (`handoff_linked`), so a reply that reaches any worker
finds its conversation."""

from __future__ import annotations

import logging

from agent.channels.base import ExpiringMap
from agent.core.handoff import CLOSED
from agent.server.handoff_hub import HandoffHub, HubEvent
from agent.server.handoff_service import Handoffs

log = logging.getLogger(__name__)

DESK = "slack"
COMMANDS = {"!release": "bot", "!close": CLOSED}
THREADS_TTL_S = 7 * 24 * 3600.0


class SlackDesk:
    def __init__(self, slack, handoffs: Handoffs, hub: HandoffHub):
        self.slack, self.handoffs, self.hub = slack, handoffs, hub
        self.channel: str = slack.agents_channel
        self._threads: ExpiringMap[str] = ExpiringMap(THREADS_TTL_S)  # thread ts -> conversation
        self._roots: ExpiringMap[str] = ExpiringMap(
            THREADS_TTL_S
        )  # conversation -> thread ts (before the link is stored)
        slack.on_thread_reply = self.agent_replied

    async def follow(self) -> None:
        """Post this worker's handoff news in the agents' channel, until the hub closes."""
        async with self.hub.subscribe() as queue:
            while (item := await queue.get()) is not None:
                if item.origin == self.hub.origin:
                    try:
                        await self._post_news(item)
                    except Exception:  # one failed post must not stop the desk
                        log.exception("slack desk: could not post %s", item.kind)

    async def _post_news(self, item: HubEvent) -> None:
        conversation, event = item.conversation_id, item.event
        if item.kind == "handoff.requested":
            root = await self.slack.post({"channel": self.channel, "text": _case_card(conversation, item)})
            if root:
                self._threads.put(root, conversation)
                self._roots.put(conversation, root)
                await self.handoffs.link(conversation, DESK, f"{self.channel}/{root}")
            return
        thread = self._thread_of(item)
        if thread is None:
            return
        if item.kind == "message.user":
            text = f"Customer: {event.get('text') or ''}"
        elif item.kind == "message.bot":
            text = f"Bot: {event.get('text') or ''}"
        elif item.kind == "message.agent" and not str(event.get("agent", "")).startswith(f"{DESK}:"):
            text = f"{event.get('agent')} (desk): {event.get('text') or ''}"  # written elsewhere: keep the thread whole
        elif item.kind == "handoff.assigned":
            text = f"Taken by {event.get('agent')}."
        elif item.kind == "handoff.released":
            text = f"Given back to the bot by {event.get('by')}." if event.get("to") != CLOSED else "Closed."
        elif item.kind == "handoff.timeout":
            text = f"Timed out ({event.get('stage')})."
        else:
            return
        await self.slack.post({"channel": self.channel, "thread_ts": thread, "text": text})

    def _thread_of(self, item: HubEvent) -> str | None:
        ref = item.handoff.get("desk_ref") or ""
        prefix = f"{DESK}:{self.channel}/"
        return ref[len(prefix) :] if ref.startswith(prefix) else self._roots.get(item.conversation_id)

    async def agent_replied(self, channel: str, thread: str, user: str, text: str) -> None:
        """A person wrote in a handoff thread: to the customer, or a command."""
        conversation = self._threads.get(thread) or await self._find(channel, thread)
        if conversation is None:
            return  # a thread that is not a handoff
        agent = f"{DESK}:{user}"
        command = COMMANDS.get(text.strip().lower())
        if command is not None:
            outcome = await self.handoffs.release(conversation, agent, command)
        else:
            outcome = await self.handoffs.say(conversation, agent, text, accept=True)
        if not outcome.ok:
            await self.slack.post(
                {"channel": channel, "thread_ts": thread, "text": f"Not sent: {outcome.body['error']}"}
            )

    async def _find(self, channel: str, thread: str) -> str | None:
        """The conversation a thread follows, from the stored link (a reply may reach any worker)."""
        ref = f"{DESK}:{channel}/{thread}"
        found = await self.handoffs.find(lambda state: state.desk_ref == ref)
        if not found:
            return None
        self._threads.put(thread, found[0].sender_id)
        return found[0].sender_id


def _case_card(conversation: str, item: HubEvent) -> str:
    handoff = item.handoff
    return (
        f"New handoff: {conversation} (queue {handoff.get('queue')}, {handoff.get('reason')}). "
        f"\u201c{handoff.get('summary') or ''}\u201d Reply in this thread to answer the customer; "
        "!release gives them back to the bot, !close closes."
    )
