"""Stories and rules: example conversations as sequences of steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.bot.schema import Reader, item_line, key_line
from agent.bot.yaml_source import plain
from agent.errors import Errors

ANY_VALUE = "__any__"  # `slot_was_set: [name]` without a value: set to anything but null


@dataclass
class UserStep:
    intent: str | None
    entities: list[dict] = field(default_factory=list)  # {"entity", "value"?, "role"?, "group"?}
    text: str | None = None  # end-to-end stories: `user:` text
    line: int | None = None


@dataclass
class ActionStep:
    action: str | None
    bot_text: str | None = None  # end-to-end stories: `bot:` text
    line: int | None = None


@dataclass
class SlotStep:
    slots: dict[str, Any]
    line: int | None = None


@dataclass
class ActiveLoopStep:
    name: str | None
    line: int | None = None


@dataclass
class CheckpointStep:
    name: str
    slots: dict[str, Any] = field(default_factory=dict)
    line: int | None = None


@dataclass
class OrStep:
    alternatives: list[UserStep | SlotStep]
    line: int | None = None


Step = UserStep | ActionStep | SlotStep | ActiveLoopStep | CheckpointStep | OrStep


@dataclass
class StoryBlock:
    """A story or a rule (`kind`); rules add a condition and the conversation_start/wait flags."""

    kind: str
    name: str
    steps: list[Step]
    file: str = ""
    line: int | None = None
    condition: list[SlotStep | ActiveLoopStep] = field(default_factory=list)
    conversation_start: bool = False
    wait_for_user_input: bool = True
    metadata: Any = None


STORY_KEYS = ("story", "steps", "metadata")
RULE_KEYS = ("rule", "steps", "condition", "conversation_start", "wait_for_user_input", "metadata")
STORY_STEP_KINDS = ("intent", "user", "action", "bot", "slot_was_set", "active_loop", "checkpoint", "or")
RULE_STEP_KINDS = ("intent", "action", "slot_was_set", "active_loop", "or")


def parse_blocks(value: Any, kind: str, r: Reader, line: int | None, test_file: bool = False) -> list[StoryBlock]:
    items = r.sequence(value, f"{kind}s", line)
    blocks = []
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        item = r.mapping(item, f"a {kind}", at)
        if item is None:
            continue
        r.check_keys(item, STORY_KEYS if kind == "story" else RULE_KEYS, f"a {kind}")
        name = item.get(kind)
        if name is None:
            r.error(at, Errors.BLOCK_WITHOUT_NAME, kind=kind)
            continue
        steps_raw = item.get("steps")
        if steps_raw is None:
            r.error(at, Errors.BLOCK_WITHOUT_STEPS, kind=kind, name=name)
            continue
        step_kinds = STORY_STEP_KINDS if kind == "story" or test_file else RULE_STEP_KINDS
        block = StoryBlock(
            kind,
            str(name),
            _parse_steps(steps_raw, step_kinds, r, key_line(item, "steps", at), kind),
            r.file,
            at,
            metadata=plain(item.get("metadata")),
        )
        if kind == "rule":
            block.conversation_start = _bool(item, "conversation_start", False, r, at)
            block.wait_for_user_input = _bool(item, "wait_for_user_input", True, r, at)
            cond = item.get("condition")
            if cond is not None:
                for step in _parse_steps(
                    cond, ("slot_was_set", "active_loop"), r, key_line(item, "condition", at), "rule condition"
                ):
                    block.condition.append(step)  # type: ignore[arg-type]
        blocks.append(block)
    return blocks


def _bool(item: dict, key: str, default: bool, r: Reader, at: int | None) -> bool:
    value = item.get(key, default)
    if not isinstance(value, bool):
        r.error(key_line(item, key, at), Errors.FLAG_NOT_BOOL, key=key)
        return default
    return value


def _parse_steps(value: Any, kinds: tuple[str, ...], r: Reader, line: int | None, where: str) -> list[Step]:
    items = r.sequence(value, f"the steps of a {where}", line)
    steps: list[Step] = []
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        step = _parse_step(item, kinds, r, at, where)
        if step is not None:
            steps.append(step)
    return steps


def _parse_step(item: Any, kinds: tuple[str, ...], r: Reader, at: int | None, where: str) -> Step | None:
    item = r.mapping(item, f"a step of a {where}", at)
    if item is None:
        return None
    present = [k for k in STORY_STEP_KINDS if k in item]
    unknown = [k for k in item if k not in (*STORY_STEP_KINDS, "entities", "metadata")]
    for k in unknown:
        r.error(
            key_line(item, k, at),
            Errors.UNKNOWN_KEY,
            key=k,
            what=f"a step of a {where}",
            suggestion=f"a step is one of: {', '.join(kinds)}",
        )
    if not present:
        if not unknown:
            r.error(at, Errors.EMPTY_STEP, where=where, kinds=", ".join(kinds))
        return None
    for k in present:
        if k not in kinds:
            r.error(key_line(item, k, at), Errors.STEP_NOT_ALLOWED, kind=k, where=where, kinds=", ".join(kinds))
            return None
    if "intent" in present or "user" in present:
        extra = [k for k in present if k not in ("intent", "user")]
        if extra:
            r.error(at, Errors.USER_STEP_EXTRA, key=extra[0])
        intent = item.get("intent")
        text = item.get("user")
        if intent is None and text is None:
            r.error(at, Errors.USER_STEP_WITHOUT_INTENT)
            return None
        return UserStep(
            None if intent is None else str(intent).strip(),
            _parse_step_entities(item.get("entities"), r, at),
            None if text is None else str(text).strip(),
            at,
        )
    if len(present) > 1 and not (set(present) == {"checkpoint", "slot_was_set"}):
        r.error(at, Errors.STEP_WITH_TWO_KINDS, first=present[0], second=present[1])
        return None
    if "entities" in item:
        r.error(key_line(item, "entities", at), Errors.ENTITIES_OUTSIDE_USER_STEP)
    kind = present[0] if present != ["slot_was_set", "checkpoint"] else "checkpoint"
    if "checkpoint" in present:
        kind = "checkpoint"
    value = item[kind]
    if kind == "action":
        if not isinstance(value, str) or not value.strip():
            r.error(at, Errors.ACTION_STEP_WITHOUT_NAME)
            return None
        return ActionStep(str(value).strip(), line=at)
    if kind == "bot":
        return ActionStep(None, bot_text=str(value).strip(), line=at)
    if kind == "active_loop":
        if value is not None and not isinstance(value, str):
            r.error(at, Errors.ACTIVE_LOOP_FORM)
            return None
        return ActiveLoopStep(None if value is None else str(value), at)
    if kind == "slot_was_set":
        return SlotStep(_parse_slot_values(value, r, at), at)
    if kind == "checkpoint":
        slots = _parse_slot_values(item["slot_was_set"], r, at) if "slot_was_set" in item else {}
        return CheckpointStep(str(value), slots, at)
    alternatives = []
    alts = r.sequence(value, "an or step", at)
    for j, alt in enumerate(alts or []):
        step = _parse_step(alt, ("intent", "slot_was_set"), r, item_line(alts, j, at), "or step")
        if step is not None:
            alternatives.append(step)
    return OrStep(alternatives, at)


def _parse_slot_values(value: Any, r: Reader, at: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        value = [value]
    items = r.sequence(value, "slot_was_set", at)
    for j, entry in enumerate(items or []):
        if isinstance(entry, str):
            out[str(entry)] = ANY_VALUE
        elif isinstance(entry, dict):
            for k, v in entry.items():
                out[str(k)] = plain(v)
        else:
            r.error(item_line(items, j, at), Errors.SLOT_WAS_SET_FORM)
    return out


def _parse_step_entities(value: Any, r: Reader, at: int | None) -> list[dict]:
    """As Rasa's story reader reads them: `- name` (no value), `- name: value`, with `role:` and
    `group:` beside it in the same mapping. Every other key names the entity, so `- entity: city`
    is an entity called `entity` whose value is `city`, as in Rasa."""
    if value is None:
        return []
    items = r.sequence(value, "entities of a user step", at)
    out = []
    for j, entry in enumerate(items or []):
        if isinstance(entry, str):
            out.append({"entity": str(entry)})
            continue
        found: dict[str, Any] = {}
        for k, v in entry.items() if isinstance(entry, dict) else ():
            if k in ("role", "group"):
                found[str(k)] = plain(v)
            else:  # the last name wins, as in Rasa
                found["entity"], found["value"] = str(k), plain(v)
        if "entity" not in found:
            r.error(item_line(items, j, at), Errors.STORY_ENTITY_FORM)
            continue
        out.append({k: found[k] for k in ("entity", "value", "role", "group") if k in found})
    return out
