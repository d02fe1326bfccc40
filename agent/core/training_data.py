"""The one story compiler: stories and rules become the turns the policies predict from.

Every consumer (rules, memoization, the learned policy, `agent test`) reads story data through
here, so they agree on what a story means:

1. `or` steps expand to one variant per alternative (capped at `MAX_OR_VARIANTS` per block).
2. Checkpoints are joined as Rasa joins them: a story is split into segments at each checkpoint; a
   segment without a start checkpoint starts a conversation; a segment that ends at checkpoint X
   continues with every segment that starts at X whose `slot_was_set` conditions hold. Each segment
   appears at most once per path (cycles are cut), and at most `TRACKER_LIMIT` paths pass through a
   checkpoint (a seeded sample beyond that, as Rasa's `tracker_limit` subsamples).
3. Each path is replayed through the real `Tracker` as events, with the domain's slot mappings
   applied after each user message, so training sees exactly the `Turns` (items, dialogue states,
   entities) that a live conversation builds.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from agent.bot.domain import Domain
from agent.bot.stories import (
    ANY_VALUE,
    ActionStep,
    ActiveLoopStep,
    CheckpointStep,
    OrStep,
    SlotStep,
    Step,
    StoryBlock,
    UserStep,
)
from agent.core.events import ActionExecuted, ActiveLoop, Event, SlotSet, UserUttered
from agent.core.slot_filling import extract_slots
from agent.core.tracker import ACTION_LISTEN, Tracker
from agent.core.turns import StateView, Turns

MAX_OR_VARIANTS = 256  # alternatives multiply; a block with more variants keeps a seeded sample
TRACKER_LIMIT = 1000  # joined paths through one checkpoint (Rasa's tracker_limit)
SAMPLE_SEED = 42
FILLED = "filled"  # what `slot_was_set: [name]` sets in a story (Rasa's DEFAULT_VALUE_TEXT_SLOTS)

FlatStep = UserStep | ActionStep | SlotStep | ActiveLoopStep


@dataclass(frozen=True)
class StoryPath:
    """One way through the story data: `or` alternatives chosen, checkpoints joined, flat steps."""

    kind: str  # "story" | "rule"
    name: str
    steps: tuple[FlatStep, ...]
    file: str = ""
    line: int | None = None
    from_start: bool = True  # False: a fragment starting at a checkpoint no story leads to
    block: StoryBlock | None = None  # the block the path starts in (rules: the rule itself)


@dataclass
class ReplayedStory:
    """A story path as the tracker sees it. `final` is the state after the last step;
    `final_listen`: the last item is the action_listen implied by the story ending."""

    path: StoryPath
    turns: Turns
    final: StateView
    final_listen: bool


@dataclass
class TrainingData:
    domain: Domain
    stories: list[ReplayedStory] = field(default_factory=list)
    rules: list[StoryPath] = field(default_factory=list)

    @classmethod
    def compile(cls, stories: list[StoryBlock], rules: list[StoryBlock], domain: Domain) -> TrainingData:
        return cls(
            domain,
            [replay_steps(p, domain) for p in story_paths(stories)],
            [p for block in rules for p in expand_block(block)],
        )


# ---- 1. `or` alternatives ----


def expand_steps(steps: list[Step], rng: random.Random | None = None) -> list[list[Step]]:
    """Every combination of `or` alternatives (a seeded sample past MAX_OR_VARIANTS)."""
    choices = [step.alternatives or [] if isinstance(step, OrStep) else [step] for step in steps]
    choices = [c for c in choices if c]
    total = 1
    for c in choices:
        total *= len(c)
    if total <= MAX_OR_VARIANTS:
        return [list(combo) for combo in itertools.product(*choices)]
    rng = rng or random.Random(SAMPLE_SEED)
    return [[rng.choice(c) for c in choices] for _ in range(MAX_OR_VARIANTS)]


def expand_block(block: StoryBlock) -> list[StoryPath]:
    """A block without checkpoints (a rule, or a test story read on its own) as flat paths."""
    return [
        StoryPath(
            block.kind,
            block.name,
            tuple(s for s in steps if not isinstance(s, CheckpointStep)),
            block.file,
            block.line,
            not _starts_at_checkpoint(block),
            block,
        )
        for steps in expand_steps(block.steps)
    ]


def _starts_at_checkpoint(block: StoryBlock) -> bool:
    return bool(block.steps) and isinstance(block.steps[0], CheckpointStep)


# ---- 2. checkpoints ----


@dataclass
class Segment:
    """A stretch of a story between checkpoints."""

    block: StoryBlock
    index: int
    starts: list[CheckpointStep]
    steps: list[Step]
    ends: list[str]


def segments(block: StoryBlock) -> list[Segment]:
    """Split a story at its checkpoints: leading ones are where it may start, trailing ones where
    it continues, one in the middle ends a segment and starts the next."""
    out: list[Segment] = []
    starts: list[CheckpointStep] = []
    steps: list[Step] = []
    for step in block.steps:
        if isinstance(step, CheckpointStep):
            if steps:
                out.append(Segment(block, len(out), starts, steps, [step.name]))
                starts, steps = [step], []
            elif out and not starts and not out[-1].steps:
                out[-1].ends.append(step.name)
            else:
                starts.append(step)
        else:
            steps.append(step)
    if steps or not out:
        out.append(Segment(block, len(out), starts, steps, []))
    elif starts:
        # the block ended with checkpoints after a middle one: they are all end checkpoints
        out[-1].ends += [s.name for s in starts if s.name not in out[-1].ends]
    return out


def story_paths(blocks: list[StoryBlock]) -> list[StoryPath]:
    """Every story as the paths Rasa's training data generator would build from it."""
    segs = [s for b in blocks for s in segments(b)]
    by_start: dict[str, list[Segment]] = {}
    for s in segs:
        for cp in s.starts:
            by_start.setdefault(cp.name, []).append(s)
    produced = {name for s in segs for name in s.ends}
    rng = random.Random(SAMPLE_SEED)
    through: dict[str, int] = {}
    paths: list[StoryPath] = []
    for seg in segs:
        if seg.starts and any(cp.name in produced for cp in seg.starts):
            continue  # reached by joining
        from_start = not seg.starts
        for steps, names in _walk(seg, [], {}, (), by_start, through, rng):
            head = seg.block
            paths.append(
                StoryPath(
                    "story", " > ".join(dict.fromkeys(names)), tuple(steps), head.file, head.line, from_start, head
                )
            )
    return paths


def _walk(
    seg: Segment,
    before: list[FlatStep],
    slots: dict[str, Any],
    used: tuple[int, ...],
    by_start: dict[str, list[Segment]],
    through: dict[str, int],
    rng: random.Random,
) -> Iterator[tuple[list[FlatStep], list[str]]]:
    key = id(seg)
    used = (*used, key)
    for variant in expand_steps(seg.steps, rng):
        flat = [s for s in variant if not isinstance(s, CheckpointStep)]
        steps = before + flat
        now = _slots_after(flat, slots)
        nexts = [
            (name, s)
            for name in seg.ends
            for s in by_start.get(name, [])
            if id(s) not in used and _conditions_hold(s, name, now)
        ]
        if not nexts:
            yield steps, [seg.block.name]
            continue
        for name, nxt in nexts:
            through[name] = through.get(name, 0) + 1
            if through[name] > TRACKER_LIMIT and rng.random() > TRACKER_LIMIT / through[name]:
                continue
            for more, names in _walk(nxt, steps, now, used, by_start, through, rng):
                yield more, [seg.block.name, *names]


def _slots_after(steps: list[FlatStep], slots: dict[str, Any]) -> dict[str, Any]:
    now = dict(slots)
    for step in steps:
        if isinstance(step, SlotStep):
            now.update(step.slots)
    return now


def _conditions_hold(seg: Segment, name: str, slots: dict[str, Any]) -> bool:
    """A start checkpoint's `slot_was_set` filters the paths that may continue through it."""
    for cp in seg.starts:
        if cp.name == name and all(_matches(v, slots.get(k)) for k, v in cp.slots.items()):
            return True
    return False


def _matches(expected: Any, actual: Any) -> bool:
    if expected == ANY_VALUE:
        return actual is not None
    return actual == expected


# ---- 3. replay through the tracker ----


def story_events(step: FlatStep) -> list[Event]:
    """The events a live conversation logs for one story step (without running any action)."""
    if isinstance(step, UserStep):
        intent = step.intent or ""
        parse = {"intent": {"name": intent, "confidence": 1.0}, "entities": [dict(e) for e in step.entities]}
        return [UserUttered(text=step.text or f"/{intent}", parse_data=parse)]
    if isinstance(step, ActionStep) and step.action:
        return [ActionExecuted(name=step.action)]
    if isinstance(step, SlotStep):
        return [SlotSet(name=k, value=FILLED if v == ANY_VALUE else v) for k, v in step.slots.items()]
    if isinstance(step, ActiveLoopStep):
        return [ActiveLoop(name=step.name)]
    return []


def replay_steps(path: StoryPath, domain: Domain) -> ReplayedStory:
    """Append each step's events to a real tracker; after a user message the domain's slot mappings
    fill slots as they do live, so a story need not repeat what its mappings already say."""
    tracker = Tracker(f"story: {path.name}", domain)
    for step in path.steps:
        tracker.extend(story_events(step))
        if isinstance(step, UserStep):
            tracker.extend(extract_slots(tracker, domain))
    turns = tracker.state.turns
    final_listen = bool(turns.items) and turns.items[-1][0] != "intent" and turns.items[-1] != ("action", ACTION_LISTEN)
    final = StateView(tracker.slots, tracker.active_loop)
    if final_listen:
        tracker.append(ActionExecuted(name=ACTION_LISTEN))
    return ReplayedStory(path, tracker.state.turns, final, final_listen)


def action_points(story: ReplayedStory) -> Iterator[int]:
    """Indices of the story's items that are actions a policy must predict (not the listen that
    starts the conversation)."""
    for k, item in enumerate(story.turns.items):
        if item[0] == "action" and not (k == 0 and item[1] == ACTION_LISTEN):
            yield k
