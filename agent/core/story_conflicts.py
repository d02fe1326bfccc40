"""Story structure conflicts, as `rasa data validate` reports them: two stories that reach the same
dialogue state (the last `max_history` turns, as memoization sees them) and then do different
things. A policy can follow only one of them, so one story is wrong or needs more context."""

from __future__ import annotations

from dataclasses import dataclass

from agent.core.policies.memoization import MemoizationPolicy, history_items, influential_slots, slot_features
from agent.core.training_data import ReplayedStory, TrainingData, action_points


@dataclass(frozen=True)
class Conflict:
    after: str  # the last user intent or action before the point where the stories part
    actions: dict[str, tuple[str, str, int | None]]  # next action -> (story name, file, line) that does it


def story_conflicts(data: TrainingData, max_history: int) -> list[Conflict]:
    """Every state two stories leave by different actions (the end of a story does not count: a
    story may stop where another goes on)."""
    memo = MemoizationPolicy(max_history)
    memo.slots = influential_slots(data.domain)
    seen: dict[str, dict[str, tuple[str, str, int | None]]] = {}
    last_item: dict[str, str] = {}
    for story in data.stories:
        for k, key, action in _decisions(memo, story):
            seen.setdefault(key, {}).setdefault(action, (story.path.name, story.path.file, story.path.line))
            kind, name = story.turns.items[k - 1]
            last_item[key] = f"{'intent' if kind == 'intent' else 'action'} '{name}'"
    return [Conflict(last_item[key], actions) for key, actions in seen.items() if len(actions) > 1]


def _decisions(memo: MemoizationPolicy, story: ReplayedStory):
    last = len(story.turns.items) - 1
    for k in action_points(story):
        if k == 0 or (k == last and story.final_listen):
            continue
        history, complete = history_items(story.turns, memo.window, k)
        slots = slot_features(memo.slots, story.turns.states[k].slots)
        yield k, memo.key(history, complete and story.path.from_start, slots), story.turns.items[k][1]
