"""The domain: what the bot knows (intents, entities, slots), says (responses) and does (actions, forms)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.bot.schema import Reader, item_line, key_line
from agent.bot.yaml_source import plain
from agent.errors import Errors, Warnings

DOMAIN_KEYS = (
    "version",
    "intents",
    "entities",
    "slots",
    "responses",
    "forms",
    "actions",
    "config",
    "session_config",
    "e2e_actions",
)
SLOT_TYPES = ("text", "bool", "categorical", "float", "list", "any")
MAPPING_TYPES = ("from_entity", "from_intent", "from_trigger_intent", "from_text", "custom")
MAPPING_KEYS = {
    "from_entity": ("type", "entity", "role", "group", "intent", "not_intent", "conditions"),
    "from_text": ("type", "intent", "not_intent", "conditions"),
    "from_intent": ("type", "value", "intent", "not_intent", "conditions"),
    "from_trigger_intent": ("type", "value", "intent", "not_intent", "conditions"),
    "custom": ("type", "action", "conditions"),
}
VARIATION_KEYS = (
    "text",
    "image",
    "buttons",
    "button_type",
    "quick_replies",
    "attachment",
    "elements",
    "custom",
    "channel",
    "id",
    "metadata",
    "condition",
    "language",
)

DEFAULT_INTENTS = ("restart", "back", "session_start", "nlu_fallback", "out_of_scope")
DEFAULT_ACTIONS = (
    "action_listen",
    "action_restart",
    "action_session_start",
    "action_default_fallback",
    "action_deactivate_loop",
    "action_revert_fallback_events",
    "action_two_stage_fallback",
    "action_default_ask_affirmation",
    "action_default_ask_rephrase",
    "action_back",
    "action_unlikely_intent",
    "action_extract_slots",
    "action_handoff",  # ours: a person takes the conversation over (agent.core.actions.handoff)
)


@dataclass
class Intent:
    name: str
    use_entities: list[str] | None = None  # None: all entities
    ignore_entities: list[str] = field(default_factory=list)
    source: tuple[str, int | None] = ("", None)  # file, line

    def uses_entity(self, entity: str) -> bool:
        if entity in self.ignore_entities:
            return False
        return self.use_entities is None or entity in self.use_entities


@dataclass
class Entity:
    name: str
    roles: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)


@dataclass
class MappingCondition:
    active_loop: str | None
    requested_slot: str | None = None


@dataclass
class SlotMapping:
    type: str
    entity: str | None = None
    role: str | None = None
    group: str | None = None
    intent: list[str] = field(default_factory=list)
    not_intent: list[str] = field(default_factory=list)
    value: Any = None
    action: str | None = None
    conditions: list[MappingCondition] = field(default_factory=list)
    source: tuple[str, int | None] = ("", None)  # file, line


@dataclass
class Slot:
    name: str
    type: str
    mappings: list[SlotMapping]
    influence_conversation: bool = True
    initial_value: Any = None
    values: list[str] = field(default_factory=list)  # categorical
    min_value: float = 0.0
    max_value: float = 1.0
    source: tuple[str, int | None] = ("", None)  # file, line


@dataclass
class Button:
    title: str
    payload: str


@dataclass
class ResponseCondition:
    type: str
    name: str
    value: Any


@dataclass
class ResponseVariation:
    text: str | None = None
    image: str | None = None
    buttons: list[Button] = field(default_factory=list)
    button_type: str | None = None
    quick_replies: list[Button] = field(default_factory=list)
    attachment: Any = None
    elements: Any = None
    custom: Any = None
    channel: str | None = None
    id: str | None = None
    metadata: Any = None
    condition: list[ResponseCondition] = field(default_factory=list)
    language: str | None = None  # multilingual bots: the variation answers messages in this language
    source: tuple[str, int | None] = ("", None)  # file, line


@dataclass
class Form:
    name: str
    required_slots: list[str]
    ignored_intents: list[str] = field(default_factory=list)
    source: tuple[str, int | None] = ("", None)  # file, line


@dataclass
class SessionConfig:
    session_expiration_time: float = 60.0  # minutes; 0 means sessions never expire
    carry_over_slots_to_new_session: bool = True


@dataclass
class Domain:
    intents: dict[str, Intent] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)
    responses: dict[str, list[ResponseVariation]] = field(default_factory=dict)
    forms: dict[str, Form] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)
    session_config: SessionConfig = field(default_factory=SessionConfig)
    store_entities_as_slots: bool = True
    e2e_actions: list[str] = field(default_factory=list)  # bot texts end-to-end stories predict

    @property
    def action_names(self) -> list[str]:
        """Every action the bot may run: built-ins, responses, custom actions and forms."""
        names = list(DEFAULT_ACTIONS)
        for name in [*self.responses, *self.actions, *self.forms]:
            if name not in names:
                names.append(name)
        return names

    def knows_action(self, name: str) -> bool:
        if name in DEFAULT_ACTIONS or name in self.responses or name in self.actions or name in self.forms:
            return True
        # retrieval responses are addressed by their parent: utter_faq covers utter_faq/ask_x
        return any(r.split("/")[0] == name for r in self.responses)

    def knows_intent(self, name: str) -> bool:
        return name in self.intents or name in DEFAULT_INTENTS or name.split("/")[0] in self.intents


def parse_domain(raw: Any, file: str, r: Reader) -> Domain:
    domain = Domain()
    if raw is None:
        return domain
    data = r.mapping(raw, "the domain file")
    if data is None:
        return domain
    r.check_keys(data, DOMAIN_KEYS, "domain")
    _parse_intents(data.get("intents"), domain, r, key_line(data, "intents"))
    _parse_entities(data.get("entities"), domain, r, key_line(data, "entities"))
    _parse_slots(data.get("slots"), domain, r, key_line(data, "slots"))
    domain.responses = parse_responses(data.get("responses"), r, key_line(data, "responses"))
    _parse_forms(data.get("forms"), domain, r, key_line(data, "forms"))
    domain.actions = r.string_list(data.get("actions"), "actions", key_line(data, "actions"))
    domain.e2e_actions = r.string_list(data.get("e2e_actions"), "e2e_actions", key_line(data, "e2e_actions"))
    _parse_session_config(data.get("session_config"), domain, r, key_line(data, "session_config"))
    config = data.get("config")
    if config is not None and (cfg := r.mapping(config, "domain config", key_line(data, "config"))):
        r.check_keys(cfg, ("store_entities_as_slots",), "domain config")
        domain.store_entities_as_slots = bool(cfg.get("store_entities_as_slots", True))
    return domain


def _parse_intents(value: Any, domain: Domain, r: Reader, line: int | None) -> None:
    if value is None:
        return
    items = r.sequence(value, "intents", line)
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        if isinstance(item, str):
            domain.intents[str(item)] = Intent(str(item), source=(r.file, at))
            continue
        if not isinstance(item, dict) or len(item) != 1:
            r.error(at, Errors.INTENT_FORM)
            continue
        name, props = next(iter(item.items()))
        intent = Intent(str(name))
        if props is not None:
            props = r.mapping(props, f"intent '{name}'", at)
            if props is not None:
                r.check_keys(
                    props, ("use_entities", "ignore_entities", "is_retrieval_intent", "triggers"), f"intent '{name}'"
                )
                if "use_entities" in props:
                    use = props["use_entities"]
                    if use is True:
                        intent.use_entities = None
                    elif use is False:
                        intent.use_entities = []
                    else:
                        intent.use_entities = r.string_list(use, "use_entities", at)
                intent.ignore_entities = r.string_list(props.get("ignore_entities"), "ignore_entities", at)
        intent.source = (r.file, at)
        domain.intents[intent.name] = intent


def _parse_entities(value: Any, domain: Domain, r: Reader, line: int | None) -> None:
    if value is None:
        return
    items = r.sequence(value, "entities", line)
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        if isinstance(item, str):
            domain.entities[str(item)] = Entity(str(item))
        elif isinstance(item, dict) and len(item) == 1:
            name, props = next(iter(item.items()))
            entity = Entity(str(name))
            if props is not None and (props := r.mapping(props, f"entity '{name}'", at)) is not None:
                r.check_keys(props, ("roles", "groups", "influence_conversation"), f"entity '{name}'")
                entity.roles = r.string_list(props.get("roles"), "roles", at)
                entity.groups = r.string_list(props.get("groups"), "groups", at)
            domain.entities[entity.name] = entity
        else:
            r.error(at, Errors.ENTITY_FORM)


def _parse_slots(value: Any, domain: Domain, r: Reader, line: int | None) -> None:
    if value is None:
        return
    slots = r.mapping(value, "slots", line)
    for name, body in (slots or {}).items():
        at = key_line(slots, name, line)
        body = r.mapping(body, f"slot '{name}'", at)
        if body is None:
            continue
        r.check_keys(
            body,
            ("type", "influence_conversation", "initial_value", "values", "min_value", "max_value", "mappings"),
            f"slot '{name}'",
        )
        slot_type = str(body.get("type", ""))
        if not slot_type:
            r.error(at, Errors.SLOT_WITHOUT_TYPE, slot=name, types=", ".join(SLOT_TYPES))
            continue
        if slot_type == "unfeaturized":
            r.warning(at, Warnings.SLOT_UNFEATURIZED, slot=name)
            slot_type = "any"
        if slot_type not in SLOT_TYPES and "." not in slot_type:
            r.error(
                key_line(body, "type", at),
                Errors.SLOT_UNKNOWN_TYPE,
                slot=name,
                type=slot_type,
                types=", ".join(SLOT_TYPES),
            )
            continue
        if "mappings" not in body:
            r.error(at, Errors.SLOT_WITHOUT_MAPPINGS, slot=name)
            continue
        slot = Slot(
            name=str(name),
            type=slot_type,
            mappings=_parse_mappings(body.get("mappings"), str(name), r, key_line(body, "mappings", at)),
            influence_conversation=bool(body.get("influence_conversation", slot_type != "any")),
            initial_value=plain(body.get("initial_value")),
            source=(r.file, at),
        )
        if slot_type == "categorical":
            slot.values = [str(v) if not isinstance(v, bool) else str(v).lower() for v in (body.get("values") or [])]
            if not slot.values:
                r.error(at, Errors.CATEGORICAL_WITHOUT_VALUES, slot=name)
        for bound in ("min_value", "max_value"):
            if bound in body:
                try:
                    setattr(slot, bound, float(body[bound]))
                except (TypeError, ValueError):
                    r.error(key_line(body, bound, at), Errors.SLOT_BOUND_NOT_A_NUMBER, slot=name, bound=bound)
        domain.slots[slot.name] = slot


def _parse_mappings(value: Any, slot: str, r: Reader, line: int | None) -> list[SlotMapping]:
    if value is None:
        return []
    items = r.sequence(value, f"mappings of slot '{slot}'", line)
    mappings = []
    for i, item in enumerate(items or []):
        at = item_line(items, i, line)
        item = r.mapping(item, f"a mapping of slot '{slot}'", at)
        if item is None:
            continue
        mtype = str(item.get("type", ""))
        if mtype not in MAPPING_TYPES:
            r.error(
                key_line(item, "type", at),
                Errors.MAPPING_UNKNOWN_TYPE,
                slot=slot,
                type=mtype,
                types=", ".join(MAPPING_TYPES),
            )
            continue
        for key, key_at, suggestion in r.unknown_keys(item, MAPPING_KEYS[mtype]):  # Rasa ignores them
            r.warning(key_at, Warnings.MAPPING_EXTRA_KEY, key=key, mtype=mtype, slot=slot, suggestion=suggestion)
        mapping = SlotMapping(
            type=mtype,
            entity=_opt_str(item.get("entity")),
            role=_opt_str(item.get("role")),
            group=_opt_str(item.get("group")),
            intent=r.string_list(item.get("intent"), "intent", at),
            not_intent=r.string_list(item.get("not_intent"), "not_intent", at),
            value=plain(item.get("value")),
            action=_opt_str(item.get("action")),
            source=(r.file, at),
        )
        if mtype == "from_entity" and not mapping.entity:
            r.error(at, Errors.FROM_ENTITY_WITHOUT_ENTITY, slot=slot)
        if mtype in ("from_intent", "from_trigger_intent") and "value" not in item:
            r.error(at, Errors.MAPPING_WITHOUT_VALUE, type=mtype, slot=slot)
        conditions = item.get("conditions")
        if conditions is not None:
            conds = r.sequence(conditions, "conditions", at)
            for j, cond in enumerate(conds or []):
                cat = item_line(conds, j, at)
                cond = r.mapping(cond, "a mapping condition", cat)
                if cond is None:
                    continue
                r.check_keys(cond, ("active_loop", "requested_slot"), "a mapping condition")
                mapping.conditions.append(
                    MappingCondition(_opt_str(cond.get("active_loop")), _opt_str(cond.get("requested_slot")))
                )
        mappings.append(mapping)
    return mappings


def parse_responses(value: Any, r: Reader, line: int | None) -> dict[str, list[ResponseVariation]]:
    responses: dict[str, list[ResponseVariation]] = {}
    if value is None:
        return responses
    table = r.mapping(value, "responses", line)
    for name, variations in (table or {}).items():
        at = key_line(table, name, line)
        if not str(name).startswith("utter_"):
            r.warning(at, Warnings.RESPONSE_NAME_NOT_UTTER, response=name)
        items = r.sequence(variations, f"response '{name}'", at)
        parsed = []
        for i, var in enumerate(items or []):
            vat = item_line(items, i, at)
            var = r.mapping(var, f"a variation of '{name}'", vat)
            if var is None:
                continue
            r.check_keys(var, VARIATION_KEYS, f"a variation of response '{name}'")
            if not any(k in var for k in ("text", "image", "custom", "attachment", "elements", "buttons")):
                r.error(vat, Errors.VARIATION_SAYS_NOTHING, response=name)
            parsed.append(
                ResponseVariation(
                    text=None if var.get("text") is None else str(var.get("text")),
                    image=_opt_str(var.get("image")),
                    buttons=parse_buttons(var.get("buttons"), name, r, vat),
                    button_type=_opt_str(var.get("button_type")),
                    quick_replies=parse_buttons(var.get("quick_replies"), name, r, vat),
                    attachment=plain(var.get("attachment")),
                    elements=plain(var.get("elements")),
                    custom=plain(var.get("custom")),
                    channel=_opt_str(var.get("channel")),
                    id=_opt_str(var.get("id")),
                    metadata=plain(var.get("metadata")),
                    condition=_parse_response_conditions(var.get("condition"), name, r, vat),
                    language=_opt_str(var.get("language")),
                    source=(r.file, vat),
                )
            )
        responses[str(name)] = parsed
    return responses


def parse_buttons(value: Any, response: str, r: Reader, line: int | None) -> list[Button]:
    if value is None:
        return []
    items = r.sequence(value, f"buttons of '{response}'", line)
    buttons = []
    for i, b in enumerate(items or []):
        bat = item_line(items, i, line)
        b = r.mapping(b, f"a button of '{response}'", bat)
        if b is None:
            continue
        r.check_keys(b, ("title", "payload", "url", "type"), f"a button of '{response}'")
        if "title" not in b:
            r.error(bat, Errors.BUTTON_WITHOUT_TITLE, response=response)
            continue
        buttons.append(Button(str(b["title"]), str(b.get("payload", b.get("url", "")))))
    return buttons


def _parse_response_conditions(value: Any, response: str, r: Reader, line: int | None) -> list[ResponseCondition]:
    if value is None:
        return []
    items = r.sequence(value, f"condition of '{response}'", line)
    out = []
    for i, c in enumerate(items or []):
        cat = item_line(items, i, line)
        c = r.mapping(c, "a response condition", cat)
        if c is None:
            continue
        r.check_keys(c, ("type", "name", "value"), "a response condition")
        if c.get("type", "slot") != "slot":
            r.error(cat, Errors.CONDITION_TYPE_UNSUPPORTED, type=c.get("type"))
        if "name" not in c:
            r.error(cat, Errors.CONDITION_WITHOUT_NAME)
            continue
        out.append(ResponseCondition("slot", str(c["name"]), plain(c.get("value"))))
    return out


def _parse_forms(value: Any, domain: Domain, r: Reader, line: int | None) -> None:
    if value is None:
        return
    forms = r.mapping(value, "forms", line)
    for name, body in (forms or {}).items():
        at = key_line(forms, name, line)
        if body is None:
            body = {}
        body = r.mapping(body, f"form '{name}'", at)
        if body is None:
            continue
        r.check_keys(body, ("required_slots", "ignored_intents"), f"form '{name}'")
        required = body.get("required_slots", [])
        if isinstance(required, dict):
            r.error(key_line(body, "required_slots", at), Errors.RASA2_REQUIRED_SLOTS, form=name)
            required = list(required)
        domain.forms[str(name)] = Form(
            name=str(name),
            required_slots=r.string_list(required, "required_slots", at),
            ignored_intents=r.string_list(body.get("ignored_intents"), "ignored_intents", at),
            source=(r.file, at),
        )


def _parse_session_config(value: Any, domain: Domain, r: Reader, line: int | None) -> None:
    if value is None:
        return
    cfg = r.mapping(value, "session_config", line)
    if cfg is None:
        return
    r.check_keys(cfg, ("session_expiration_time", "carry_over_slots_to_new_session"), "session_config")
    try:
        domain.session_config.session_expiration_time = float(cfg.get("session_expiration_time", 60))
    except (TypeError, ValueError):
        r.error(key_line(cfg, "session_expiration_time", line), Errors.SESSION_EXPIRATION_NOT_A_NUMBER)
    domain.session_config.carry_over_slots_to_new_session = bool(cfg.get("carry_over_slots_to_new_session", True))


def merge_domains(parts: list[Domain]) -> Domain:
    """Merge the per-file domains of a domain directory, in file order."""
    merged = Domain()
    for part in parts:
        for name, intent in part.intents.items():
            merged.intents.setdefault(name, intent)
        merged.entities.update(part.entities)
        merged.slots.update(part.slots)
        merged.responses.update(part.responses)
        merged.forms.update(part.forms)
        merged.actions += [a for a in part.actions if a not in merged.actions]
        merged.e2e_actions += [a for a in part.e2e_actions if a not in merged.e2e_actions]
        # a file that leaves these out parses to the defaults: the last file that changes them wins
        if part.session_config != SessionConfig():
            merged.session_config = part.session_config
        if not part.store_entities_as_slots:
            merged.store_entities_as_slots = False
    return merged


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
