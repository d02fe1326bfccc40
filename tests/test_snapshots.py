"""A long conversation holds only its recent past and loads from a snapshot plus a tail: both must
leave everything policies and actions read exactly as replaying the whole history would."""

from __future__ import annotations

import random

import pytest

from agent.bot.domain import Domain
from agent.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActionReverted,
    ActiveLoop,
    AllSlotsReset,
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    FollowupAction,
    LoopInterrupted,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from agent.core.tracker import KEEP_APPLIED, KEEP_EVENTS, KEEP_TURNS, Tracker
from agent.stores import snapshot

DOMAIN = Domain()
INTENTS = ["greet", "order_status", "return_item", "affirm", "deny"]


def turn(rng: random.Random, n: int) -> list[Event]:
    """One user turn, or now and then something that resets, reverts or pauses the conversation."""
    roll = rng.random()
    if roll < 0.004:
        return [Restarted(), ActionExecuted(name="action_listen")]
    if roll < 0.008:
        return [
            ActionExecuted(name="action_session_start"),
            SessionStarted(),
            SlotSet(name="kept", value=n),
            ActionExecuted(name="action_listen"),
        ]
    if roll < 0.09:
        return [UserUtteranceReverted()]
    if roll < 0.11:
        return [ActionReverted()]
    if roll < 0.13:
        return [
            rng.choice(
                [
                    ConversationPaused(),
                    ConversationResumed(),
                    AllSlotsReset(),
                    FollowupAction(name="utter_x"),
                    LoopInterrupted(is_interrupted=True),
                ]
            )
        ]
    intent = rng.choice(INTENTS)
    entities = [{"entity": "order_id", "value": f"A{n}", "start": 0, "end": 3}] if rng.random() < 0.3 else []
    events: list[Event] = [
        UserUttered(
            text=f"message {n}", parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": entities}
        )
    ]
    if entities:
        events.append(SlotSet(name="order_id", value=f"A{n}"))
    if rng.random() < 0.2:
        events += [
            ActionExecuted(name="order_form"),
            ActiveLoop(name="order_form"),
            SlotSet(name="requested_slot", value="email"),
        ]
    elif rng.random() < 0.1:
        events += [ActionExecutionRejected(name="order_form")]
    elif rng.random() < 0.15:
        events += [ActionExecuted(name="order_form"), SlotSet(name="email", value=f"u{n}@x.org"), ActiveLoop(name=None)]
    events += [
        ActionExecuted(name=f"utter_{intent}", policy="RulePolicy", confidence=1.0),
        BotUttered(text=f"reply {n}", data={"buttons": []}),
        ActionExecuted(name="action_listen"),
    ]
    return events


def conversation(seed: int, turns: int) -> list[list[Event]]:
    rng = random.Random(seed)
    return [turn(rng, n) for n in range(turns)]


def _event(e: Event | None) -> dict | None:
    return e.as_dict() if e is not None else None


def observed(t: Tracker, applied: int) -> dict:
    """What the policies, actions and APIs can read, over the recent past a compacted tracker keeps."""
    s = t.state
    return {
        "slots": s.slots,
        "active_loop": s.active_loop,
        "latest_message": _event(s.latest_message),
        "latest_action": s.latest_action,
        "latest_bot": _event(s.latest_bot_utterance),
        "followup": s.followup_action,
        "paused": s.paused,
        "interrupted": s.loop_interrupted,
        "rejected": s.loop_rejected,
        "turn_count": s.turns.count,
        "items": s.turns.items[-KEEP_TURNS:],
        "views": [(v.slots, v.active_loop) for v in s.turns.states[-KEEP_TURNS:]],
        "entities": s.turns.entities[-KEEP_TURNS:],
        "applied": [e.as_dict() for e in s.applied[-applied:]],
        "count": t.event_count,
        "recent": [e.as_dict() for e in t.events[-KEEP_EVENTS:]],
        "session": t.has_session(),
        "last_user": _event(t.last_user_event),
    }


def same(full: Tracker, other: Tracker) -> None:
    keep = min(KEEP_APPLIED, len(other.state.applied))
    assert len(other.state.applied) >= min(KEEP_APPLIED // 2, len(full.state.applied))  # reverts shrink it a little
    assert observed(other, keep) == observed(full, keep)


@pytest.mark.parametrize("seed", range(12))
def test_compacting_after_each_turn_changes_nothing_a_policy_reads(seed):
    full, compacted = Tracker("u", DOMAIN), Tracker("u", DOMAIN)
    for k, events in enumerate(conversation(seed, 400)):
        full.extend(events)
        compacted.extend(events)
        compacted.compact()
        if k % 25 == 0:
            same(full, compacted)
    same(full, compacted)
    assert compacted.offset > 0 and len(compacted.events) <= 2 * KEEP_EVENTS
    assert len(compacted.state.applied) <= 2 * KEEP_APPLIED
    assert len(compacted.state.turns.items) <= 2 * KEEP_TURNS
    assert compacted.state.turns.dropped > 0 or full.state.turns.count <= 2 * KEEP_TURNS


@pytest.mark.parametrize("seed", range(12))
def test_a_snapshot_plus_its_tail_is_the_whole_history(seed):
    full, live = Tracker("u", DOMAIN), Tracker("u", DOMAIN)
    taken: list[tuple[str, int]] = []
    events_so_far: list[Event] = []
    for k, events in enumerate(conversation(seed, 300)):
        full.extend(events)
        live.extend(events)
        events_so_far += events
        if k % 37 == 5:
            live.compact()
            taken.append((snapshot.encode(live), live.event_count))
    for text, seq in taken:
        restored = snapshot.decode("u", DOMAIN, text, events_so_far[seq:])
        same(full, restored)
        assert restored.snapshot_seq == seq and restored.event_count == full.event_count


def test_a_snapshot_does_not_grow_with_the_conversation():
    live = Tracker("u", DOMAIN)
    sizes = {}
    for k, events in enumerate(conversation(7, 2000)):
        live.extend(events)
        live.compact()
        if k in (200, 1999):
            sizes[k] = len(snapshot.encode(live))
    assert live.event_count > 8000
    assert sizes[1999] < 1.5 * sizes[200], sizes


def test_a_rewind_after_compaction_goes_back_to_the_last_user_message():
    t = Tracker("u", DOMAIN)
    for n in range(300):
        t.extend(
            [
                UserUttered(text=f"m{n}", parse_data={"intent": {"name": "greet"}}),
                SlotSet(name="n", value=n),
                ActionExecuted(name="utter_greet"),
                ActionExecuted(name="action_listen"),
            ]
        )
        t.compact()
    assert t.state.origin is not None
    t.extend(
        [
            UserUttered(text="oops", parse_data={"intent": {"name": "deny"}}),
            SlotSet(name="n", value=-1),
            UserUtteranceReverted(),
        ]
    )
    assert t.slots["n"] == 299 and t.latest_message.text == "m299"
    assert (
        t.state.turns.count
        == Tracker(
            "v",
            DOMAIN,
            [
                e
                for n in range(300)
                for e in (
                    UserUttered(text=f"m{n}", parse_data={"intent": {"name": "greet"}}),
                    ActionExecuted(name="utter_greet"),
                    ActionExecuted(name="action_listen"),
                )
            ],
        ).state.turns.count
    )


def test_a_snapshot_of_another_version_is_refused():
    t = Tracker("u", DOMAIN, [UserUttered(text="hi")])
    text = snapshot.encode(t).replace('"version": 1', '"version": 99')
    with pytest.raises(ValueError, match="version 99"):
        snapshot.decode("u", DOMAIN, text, [])
