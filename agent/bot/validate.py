"""Cross-file checks: every name a story, rule, slot or form uses must be declared somewhere."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import TYPE_CHECKING

from agent.bot.domain import DEFAULT_INTENTS, Domain
from agent.bot.project import _display
from agent.bot.schema import suggest_name
from agent.bot.sentiment_data import MIN_PER_LABEL, too_few
from agent.bot.stories import ActionStep, ActiveLoopStep, CheckpointStep, OrStep, SlotStep, StoryBlock, UserStep
from agent.errors import Errors, Problems, Warnings

if TYPE_CHECKING:
    from agent.bot.project import BotProject

BUILTIN_SLOTS = ("requested_slot", "session_started_metadata")
LOOP_ACTIONS = ("action_two_stage_fallback",)
PAYLOAD = re.compile(r"^/(?P<intent>[^{@]+)")


def validate_bot(bot: BotProject, problems: Problems) -> None:
    """Cross-file checks, once every file is read: each part names what it finds in the others.
    Only reads the bot."""
    domain_file = next(
        (_display(f) for f in bot.files if "domain" in f.name or "domain" in f.parent.name), "domain.yml"
    )
    _check_nlu(bot, problems, domain_file)
    _check_slots(bot.domain, problems)
    _check_forms(bot.domain, problems)
    _check_responses(bot.domain, problems)
    if bot.sentiment and (found := too_few([e.label for e in bot.sentiment])) is not None:
        problems.error("data", None, Errors.SENTIMENT_TOO_FEW, minimum=MIN_PER_LABEL, found=found)
    defined_checkpoints = {s.name for b in bot.stories for s in b.steps[1:] if isinstance(s, CheckpointStep)}
    for block in [*bot.stories, *bot.rules]:
        check_block(block, bot, problems, defined_checkpoints)


def _check_nlu(bot: BotProject, problems: Problems, domain_file: str) -> None:
    """Intents and entities the examples use but the domain lacks (once each), undeclared roles and
    groups, one text under two intents, intents without examples."""
    d = bot.domain
    examples_per_intent: dict[str, int] = defaultdict(int)
    texts: dict[str, tuple[str, str, int | None]] = {}
    reported: set[tuple[str, str]] = set()
    for ex in bot.nlu.examples:
        examples_per_intent[ex.parent_intent] += 1
        if (
            ex.parent_intent not in d.intents
            and ex.parent_intent not in DEFAULT_INTENTS
            and ("intent", ex.parent_intent) not in reported
        ):
            problems.warning(ex.file, ex.line, Warnings.INTENT_NOT_IN_DOMAIN, intent=ex.intent, domain=domain_file)
            reported.add(("intent", ex.parent_intent))
        for ent in ex.entities:
            if ent.entity in d.entities:
                _check_role_and_group(ex, ent, d.entities[ent.entity], problems)
            elif ("entity", ent.entity) not in reported:
                problems.warning(
                    ex.file,
                    ex.line,
                    Warnings.ENTITY_NOT_IN_DOMAIN,
                    entity=ent.entity,
                    domain=domain_file,
                    suggestion=_hint(ent.entity, d.entities),
                )
                reported.add(("entity", ent.entity))
        key = ex.text.strip().lower()
        if key in texts and texts[key][0] != ex.intent:
            other_intent, other_file, other_line = texts[key]
            problems.warning(
                ex.file,
                ex.line,
                Warnings.EXAMPLE_UNDER_TWO_INTENTS,
                text=ex.text,
                intent=ex.intent,
                other=other_intent,
                other_file=other_file,
                other_line=other_line,
            )
        texts.setdefault(key, (ex.intent, ex.file, ex.line))
    for name in d.intents:
        answered_by_faq = any(e.group == name for e in bot.faq)  # its questions live in the FAQ bank
        if name not in examples_per_intent and name not in DEFAULT_INTENTS and not answered_by_faq:
            problems.warning(*d.intents[name].source, Warnings.INTENT_WITHOUT_EXAMPLES, intent=name)


def _check_role_and_group(ex, ent, decl, problems: Problems) -> None:
    if ent.role and decl.roles and ent.role not in decl.roles:
        problems.error(
            ex.file, ex.line, Errors.ROLE_NOT_DECLARED, role=ent.role, entity=ent.entity, roles=", ".join(decl.roles)
        )
    if ent.group and decl.groups and ent.group not in decl.groups:
        problems.error(
            ex.file,
            ex.line,
            Errors.GROUP_NOT_DECLARED,
            group=ent.group,
            entity=ent.entity,
            groups=", ".join(decl.groups),
        )


def _check_slots(d: Domain, problems: Problems) -> None:
    """What slot mappings name: entities, intents and forms the domain must declare."""
    for slot in d.slots.values():
        for m in slot.mappings:
            if m.entity and m.entity not in d.entities:
                problems.error(
                    *m.source,
                    Errors.SLOT_MAPS_UNDECLARED_ENTITY,
                    slot=slot.name,
                    entity=m.entity,
                    suggestion=_hint(m.entity, d.entities),
                )
            for intent in [*m.intent, *m.not_intent]:
                if not d.knows_intent(intent):
                    problems.warning(*m.source, Warnings.SLOT_MAPPING_UNKNOWN_INTENT, slot=slot.name, intent=intent)
            for cond in m.conditions:
                if cond.active_loop and cond.active_loop not in d.forms:
                    problems.warning(
                        *m.source, Warnings.MAPPING_CONDITION_UNKNOWN_FORM, slot=slot.name, form=cond.active_loop
                    )


def _check_forms(d: Domain, problems: Problems) -> None:
    """Every slot a form requires is declared and has a way to be asked (Rasa's four names)."""
    for form in d.forms.values():
        for slot in form.required_slots:
            asks = (
                f"utter_ask_{form.name}_{slot}",
                f"utter_ask_{slot}",
                f"action_ask_{form.name}_{slot}",
                f"action_ask_{slot}",
            )
            if not any(name in d.responses or name in d.actions for name in asks):
                problems.warning(*form.source, Warnings.FORM_SLOT_NEVER_ASKED, form=form.name, slot=slot)
            if slot not in d.slots:
                problems.error(
                    *form.source,
                    Errors.FORM_REQUIRES_UNDECLARED_SLOT,
                    form=form.name,
                    slot=slot,
                    suggestion=_hint(slot, d.slots),
                )


def _check_responses(d: Domain, problems: Problems) -> None:
    """Conditions on declared slots; buttons that send intents the domain knows."""
    for name, variations in d.responses.items():
        for var in variations:
            for cond in var.condition:
                if cond.name not in d.slots:
                    problems.error(
                        *var.source, Errors.RESPONSE_CONDITION_UNDECLARED_SLOT, response=name, slot=cond.name
                    )
            for button in [*var.buttons, *var.quick_replies]:
                m = PAYLOAD.match(button.payload or "")
                if m and not d.knows_intent(m.group("intent").strip()):
                    problems.warning(
                        *var.source,
                        Warnings.BUTTON_UNKNOWN_INTENT,
                        title=button.title,
                        response=name,
                        intent=m.group("intent"),
                    )


def check_block(
    block: StoryBlock, bot: BotProject, problems: Problems, defined_checkpoints: set[str] | None = None
) -> None:
    d = bot.domain
    what = f"{block.kind} '{block.name}'"

    def check_user(step: UserStep) -> None:
        if step.intent is not None and not d.knows_intent(step.intent):
            problems.error(
                block.file,
                step.line,
                Errors.BLOCK_UNDECLARED_INTENT,
                what=what,
                intent=step.intent,
                suggestion=_hint(step.intent, d.intents),
            )
        for ent in step.entities:
            if ent["entity"] not in d.entities:
                problems.error(
                    block.file,
                    step.line,
                    Errors.BLOCK_UNDECLARED_ENTITY,
                    what=what,
                    entity=ent["entity"],
                    suggestion=_hint(ent["entity"], d.entities),
                )

    def check_slots(slots: dict, line: int | None) -> None:
        for slot in slots:
            if slot not in d.slots and slot not in BUILTIN_SLOTS:
                problems.error(
                    block.file,
                    line,
                    Errors.BLOCK_UNDECLARED_SLOT,
                    what=what,
                    slot=slot,
                    suggestion=_hint(slot, d.slots),
                )

    for step in [*block.condition, *block.steps]:
        if isinstance(step, UserStep):
            check_user(step)
        elif isinstance(step, OrStep):
            for alt in step.alternatives:
                check_user(alt) if isinstance(alt, UserStep) else check_slots(alt.slots, alt.line)
        elif isinstance(step, ActionStep) and step.action is not None:
            if not d.knows_action(step.action):
                declare = (
                    f"add a response '{step.action}' under `responses:`"
                    if step.action.startswith("utter_")
                    else f"add '{step.action}' under `actions:` (or `forms:`)"
                )
                problems.error(
                    block.file,
                    step.line,
                    Errors.BLOCK_UNDECLARED_ACTION,
                    what=what,
                    action=step.action,
                    declare=declare,
                    suggestion=_hint(step.action, d.action_names),
                )
        elif isinstance(step, SlotStep):
            check_slots(step.slots, step.line)
        elif isinstance(step, ActiveLoopStep) and step.name is not None:
            if step.name not in d.forms and step.name not in LOOP_ACTIONS and step.name not in d.actions:
                problems.error(
                    block.file,
                    step.line,
                    Errors.LOOP_NOT_A_FORM,
                    what=what,
                    loop=step.name,
                    suggestion=_hint(step.name, d.forms),
                )
        elif isinstance(step, CheckpointStep):
            check_slots(step.slots, step.line)
            if defined_checkpoints is not None and step is block.steps[0] and step.name not in defined_checkpoints:
                problems.warning(block.file, step.line, Warnings.UNDEFINED_CHECKPOINT, what=what, checkpoint=step.name)


def _hint(name: str, known) -> str:
    s = suggest_name(name, known)
    return f"; {s}" if s else ""
