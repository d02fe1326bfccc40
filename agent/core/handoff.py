"""Human handoff as tracked state: `bot → queued → human → bot | closed`, folded from events.

While a conversation is `queued` or `human` the bot is silent: the processor stores the customer's
messages for the agent and runs no policy. Rasa's `pause` silences the bot the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agent.core.events import (
    AgentUttered,
    Event,
    HandoffAssigned,
    HandoffLinked,
    HandoffReleased,
    HandoffRequested,
    HandoffTimeout,
)

BOT, QUEUED, HUMAN, CLOSED = "bot", "queued", "human", "closed"
# What happened between a person and the customer stays when a revert forgets the bot's side
HANDOFF_EVENTS = (HandoffRequested, HandoffAssigned, AgentUttered, HandoffReleased, HandoffTimeout, HandoffLinked)
RELEASE_TARGETS = (BOT, CLOSED)
TIMEOUT_STAGES = ("queue", "agent")


@dataclass(frozen=True)
class HandoffState:
    status: str = BOT
    queue: str | None = None
    reason: str | None = None
    agent: str | None = None
    requested_at: float | None = None
    assigned_at: float | None = None
    last_agent_message_at: float | None = None
    summary: str | None = None  # what the handoff request said (the customer's last words by default)
    desk_ref: str | None = None  # "desk:ref" where an outside desk follows it (a Slack thread)

    @property
    def silent(self) -> bool:
        """The bot must not answer: a person has, or is about to have, the conversation."""
        return self.status in (QUEUED, HUMAN)

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "queue": self.queue,
            "reason": self.reason,
            "agent": self.agent,
            "requested_at": self.requested_at,
            "assigned_at": self.assigned_at,
            "last_agent_message_at": self.last_agent_message_at,
            "summary": self.summary,
            "desk_ref": self.desk_ref,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> HandoffState:
        return cls(**data) if data else cls()


def fold_handoff(state: HandoffState, event: Event) -> HandoffState:
    """The state after one event; events that do not apply in the current state change nothing."""
    if isinstance(event, HandoffRequested):
        if state.silent:
            return state  # already waiting for, or talking to, a person
        return HandoffState(QUEUED, event.queue, event.reason, None, event.timestamp, summary=event.summary)
    if isinstance(event, HandoffAssigned) and state.silent:
        return replace(state, status=HUMAN, agent=event.agent, assigned_at=event.timestamp)
    if isinstance(event, AgentUttered) and state.status == HUMAN:
        return replace(state, last_agent_message_at=event.timestamp)
    if isinstance(event, HandoffReleased) and state.silent:
        return replace(state, status=CLOSED if event.to == CLOSED else BOT)
    if isinstance(event, HandoffLinked) and state.silent:
        return replace(state, desk_ref=f"{event.desk}:{event.ref}")
    if isinstance(event, HandoffTimeout):
        if event.stage == "queue" and state.status == QUEUED:
            return replace(state, status=BOT)
        if event.stage == "agent" and state.status == HUMAN:
            # back in the queue, waiting from now on
            return replace(state, status=QUEUED, agent=None, assigned_at=None, requested_at=event.timestamp)
    return state


def mirror_events(
    state: HandoffState, with_person: bool, agent: str | None, by: str, queue: str, reason: str
) -> list[Event]:
    """The events that make our state match an outside desk's (Chatwoot's `open`/`pending`, WeChat's
    kf sessions, WeCom's service_state): none when it already does."""
    if with_person and not state.silent:  # queued, or with the named agent already
        requested = HandoffRequested(reason=reason, queue=queue)
        return [requested, HandoffAssigned(agent=agent)] if agent else [requested]
    if with_person and agent and agent != state.agent:
        return [HandoffAssigned(agent=agent)]  # accepted, or passed to another agent
    if not with_person and state.silent:
        return [HandoffReleased(by=by, to=BOT)]
    return []
