"""Cross-file checks: every name a story, rule, slot or form uses must be declared somewhere."""
from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from agent.bot.domain import DEFAULT_INTENTS
from agent.bot.schema import suggest_name
from agent.bot.stories import ActionStep, ActiveLoopStep, CheckpointStep, OrStep, SlotStep, StoryBlock, UserStep
from agent.errors import Problems
from agent.bot.project import _display

if TYPE_CHECKING:
    from agent.bot.project import BotProject

BUILTIN_SLOTS = ("requested_slot", "session_started_metadata")
LOOP_ACTIONS = ("action_two_stage_fallback",)
PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)")


def validate_bot(bot: "BotProject", problems: Problems) -> None:
    d = bot.domain
    domain_file = next((_display(f) for f in bot.files if "domain" in f.name or "domain" in f.parent.name),
                       "domain.yml")

    examples_per_intent: dict[str, int] = defaultdict(int)
    texts: dict[str, tuple[str, str, int | None]] = {}
    for ex in bot.nlu.examples:
        examples_per_intent[ex.parent_intent] += 1
        if ex.parent_intent not in d.intents:
            problems.error(ex.file, ex.line, f"intent '{ex.intent}' has examples but is not in the domain",
                           f"add it under `intents:` in {domain_file}")
            d.intents.setdefault(ex.parent_intent, None)  # report once per intent
        for ent in ex.entities:
            if ent.entity not in d.entities:
                problems.error(ex.file, ex.line, f"entity '{ent.entity}' is annotated but not in the domain",
                               f"add it under `entities:` in {domain_file}" + _hint(ent.entity, d.entities))
                d.entities.setdefault(ent.entity, None)
            elif d.entities[ent.entity] is not None:
                decl = d.entities[ent.entity]
                if ent.role and decl.roles and ent.role not in decl.roles:
                    problems.error(ex.file, ex.line, f"role '{ent.role}' of entity '{ent.entity}' is not declared",
                                   f"declared roles: {', '.join(decl.roles)}")
                if ent.group and decl.groups and ent.group not in decl.groups:
                    problems.error(ex.file, ex.line, f"group '{ent.group}' of entity '{ent.entity}' is not declared",
                                   f"declared groups: {', '.join(decl.groups)}")
        key = ex.text.strip().lower()
        if key in texts and texts[key][0] != ex.intent:
            other_intent, other_file, other_line = texts[key]
            problems.warning(ex.file, ex.line, f"example {ex.text!r} is under intent '{ex.intent}' and also under "
                             f"'{other_intent}' ({other_file}:{other_line})", "keep it under one intent only")
        texts.setdefault(key, (ex.intent, ex.file, ex.line))
    for name in [n for n, v in d.intents.items() if v is None]:
        del d.intents[name]
    for name in [n for n, v in d.entities.items() if v is None]:
        del d.entities[name]

    for name in d.intents:
        answered_by_faq = any(e.group == name for e in bot.faq)  # its questions live in the FAQ bank
        if name not in examples_per_intent and name not in DEFAULT_INTENTS and not answered_by_faq:
            problems.warning(*d.intents[name].source, f"intent '{name}' has no training examples",
                             "the classifier can never predict it; button payloads (/intent) still can")

    for slot in d.slots.values():
        for m in slot.mappings:
            if m.entity and m.entity not in d.entities:
                problems.error(*m.source, f"slot '{slot.name}' maps from entity '{m.entity}', which is not "
                               "declared", "add it under `entities:`" + _hint(m.entity, d.entities))
            for intent in [*m.intent, *m.not_intent]:
                if not d.knows_intent(intent):
                    problems.warning(*m.source, f"slot '{slot.name}' has a mapping for intent '{intent}', "
                                     "which is not in the domain")
            for cond in m.conditions:
                if cond.active_loop and cond.active_loop not in d.forms:
                    problems.error(*m.source, f"slot '{slot.name}': mapping condition names form "
                                   f"'{cond.active_loop}', which is not declared under `forms:`")
    for form in d.forms.values():
        for slot in form.required_slots:
            if slot not in d.slots:
                problems.error(*form.source, f"form '{form.name}' requires slot '{slot}', which is not declared",
                               "add it under `slots:` with its mappings" + _hint(slot, d.slots))
    for name, variations in d.responses.items():
        for var in variations:
            for cond in var.condition:
                if cond.name not in d.slots:
                    problems.error(*var.source, f"response '{name}' has a condition on slot '{cond.name}', "
                                   "which is not declared")
            for button in [*var.buttons, *var.quick_replies]:
                m = PAYLOAD.match(button.payload or "")
                if m and not d.knows_intent(m.group("intent").strip()):
                    problems.warning(*var.source, f"button '{button.title}' of '{name}' sends intent "
                                     f"'{m.group('intent')}', which is not in the domain")

    defined_checkpoints = {s.name for b in bot.stories for s in b.steps[1:] if isinstance(s, CheckpointStep)}
    for block in [*bot.stories, *bot.rules]:
        check_block(block, bot, problems, defined_checkpoints)


def check_block(block: StoryBlock, bot: "BotProject", problems: Problems,
                defined_checkpoints: set[str] | None = None) -> None:
    d = bot.domain
    what = f"{block.kind} '{block.name}'"

    def check_user(step: UserStep) -> None:
        if step.intent is not None and not d.knows_intent(step.intent):
            problems.error(block.file, step.line, f"{what} uses intent '{step.intent}', which is not in the domain",
                           "add it under `intents:`" + _hint(step.intent, d.intents))
        for ent in step.entities:
            if ent["entity"] not in d.entities:
                problems.error(block.file, step.line, f"{what} uses entity '{ent['entity']}', which is not in the "
                               "domain", "add it under `entities:`" + _hint(ent["entity"], d.entities))

    def check_slots(slots: dict, line: int | None) -> None:
        for slot in slots:
            if slot not in d.slots and slot not in BUILTIN_SLOTS:
                problems.error(block.file, line, f"{what} sets slot '{slot}', which is not in the domain",
                               "add it under `slots:`" + _hint(slot, d.slots))

    for step in [*block.condition, *block.steps]:
        if isinstance(step, UserStep):
            check_user(step)
        elif isinstance(step, OrStep):
            for alt in step.alternatives:
                check_user(alt) if isinstance(alt, UserStep) else check_slots(alt.slots, alt.line)
        elif isinstance(step, ActionStep) and step.action is not None:
            if not d.knows_action(step.action):
                hint = (f"add a response '{step.action}' under `responses:`" if step.action.startswith("utter_")
                        else f"add '{step.action}' under `actions:` (or `forms:`)")
                problems.error(block.file, step.line, f"{what} runs action '{step.action}', which is not in the "
                               "domain", hint + _hint(step.action, d.action_names))
        elif isinstance(step, SlotStep):
            check_slots(step.slots, step.line)
        elif isinstance(step, ActiveLoopStep) and step.name is not None:
            if step.name not in d.forms and step.name not in LOOP_ACTIONS and step.name not in d.actions:
                problems.error(block.file, step.line, f"{what} activates loop '{step.name}', which is not a form",
                               "declare it under `forms:`" + _hint(step.name, d.forms))
        elif isinstance(step, CheckpointStep):
            check_slots(step.slots, step.line)
            if (defined_checkpoints is not None and step is block.steps[0]
                    and step.name not in defined_checkpoints):
                problems.warning(block.file, step.line, f"{what} starts at checkpoint '{step.name}', which no "
                                 "story ends with")


def _hint(name: str, known) -> str:
    s = suggest_name(name, known)
    return f"; {s}" if s else ""

