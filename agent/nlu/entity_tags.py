"""Character-span entity annotations <-> BIO tags on the encoder's tokens.

The trained extractor tags sub-word tokens; users annotate characters. Both directions go through
the tokenizer's offset mapping, so a predicted span is always a slice of the original text, and an
annotation that no token boundary can express is reported instead of being silently shifted.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.bot.nlu_data import Example
from agent.errors import Errors, Problem, Warnings
from agent.nlu.language import SCRIPT

OUTSIDE = "O"
IGNORE = -100  # loss ignore index: special tokens, padding, rows without usable tags


def entity_label(entity: str, role: str | None = None, group: str | None = None) -> str:
    """Role and group ride along with the entity type, so one tag set predicts all three."""
    return "|".join([entity, role or "", group or ""])


def split_label(label: str) -> tuple[str, str | None, str | None]:
    entity, role, group = (label.split("|") + ["", ""])[:3]
    return entity, role or None, group or None


def tag_names(examples: list[Example]) -> list[str]:
    labels = sorted({entity_label(a.entity, a.role, a.group) for ex in examples for a in ex.entities})
    if not labels:
        return []
    return [OUTSIDE] + [f"{prefix}-{label}" for label in labels for prefix in ("B", "I")]


@dataclass
class Alignment:
    tags: list[int]  # one per token (IGNORE for special tokens)
    problems: list[Problem]


def align(example: Example, offsets: list[tuple[int, int]], tag_index: dict[str, int]) -> Alignment:
    """Tag each token inside an annotation; an annotation must start and end on token edges."""
    offsets = trimmed(example.text, offsets)
    tags = [IGNORE if start == end else tag_index[OUTSIDE] for start, end in offsets]
    problems = []
    seen_to = max((e for s, e in offsets if s < e), default=0)  # a longer text was truncated there
    for a in example.entities:
        label = entity_label(a.entity, a.role, a.group)
        if a.end > seen_to:  # past the tokens the encoder sees: nothing to tag, nothing wrong
            for i, (s, e) in enumerate(offsets):
                if s < e and e > a.start:
                    tags[i] = IGNORE
            continue
        inside = [i for i, (s, e) in enumerate(offsets) if s < e and s >= a.start and e <= a.end]
        covered_start = offsets[inside[0]][0] if inside else None
        covered_end = offsets[inside[-1]][1] if inside else None
        if "B-" + label not in tag_index:  # a type training never saw (validation data): no target
            for i in inside:
                tags[i] = IGNORE
            continue
        if (
            not inside
            or covered_start != _skip_space(example.text, a.start, a.end)
            or covered_end != _trim_space(example.text, a.start, a.end)
        ):
            problems.append(_unaligned(example, a))
            for i in range(len(offsets)):
                s, e = offsets[i]
                if s < e and s < a.end and e > a.start:
                    tags[i] = IGNORE
            continue
        for k, i in enumerate(inside):
            tags[i] = tag_index[("B-" if k == 0 else "I-") + label]
    return Alignment(tags, problems)


def trimmed(text: str, offsets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """SentencePiece tokens carry the space before a word ("▁pandora" covers " pandora"): a token's
    span starts at its first non-space character, and a lone "▁" covers nothing."""
    return [(_skip_space(text, s, e), e) for s, e in offsets]


def _unaligned(example: Example, a) -> Problem:
    """Chinese characters are always token edges (encoder.isolate_cjk), so in Chinese text a span that
    does not map cuts a Latin word or number and is an error; in space-separated text it stays a
    warning, as Rasa bots with such annotations train unchanged (the annotation is left out)."""
    chinese = SCRIPT["zh"].search(example.text) is not None
    where = f"'{example.text[a.start : a.end]}' in '{example.text}'"
    if chinese:
        return Errors.ENTITY_INSIDE_WORD.problem(example.file, example.line, entity=a.entity, where=where)
    return Warnings.ENTITY_OFF_TOKEN_BOUNDARY.problem(example.file, example.line, entity=a.entity, where=where)


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


def _trim_space(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def decode(text: str, offsets: list[tuple[int, int]], tag_probs, names: list[str], extractor: str) -> list[dict]:
    """Token tag probabilities back to Rasa entity dicts, through the most probable *valid* BIO path
    (I-x only after B-x or I-x; the pieces of one word share its tag), so a span never falls apart
    into fragments of different types."""
    import numpy as np

    probs = np.asarray(tag_probs, dtype=np.float64)
    offsets = trimmed(text, offsets)
    tokens = [i for i, (s, e) in enumerate(offsets) if s < e]
    if not tokens:
        return []
    path = _viterbi(
        np.log(probs[tokens] + 1e-9), [_continues_word(text, offsets, tokens, k) for k in range(len(tokens))], names
    )
    spans: list[list] = []  # [label, first token, last token, confidences]
    for k, tag_id in enumerate(path):
        tag = names[tag_id]
        if tag == OUTSIDE:
            continue
        i = tokens[k]
        if tag[0] == "I" and spans and spans[-1][0] == tag[2:] and spans[-1][2] == tokens[k - 1]:
            spans[-1][2] = i
            spans[-1][3].append(float(probs[i, tag_id]))
        else:
            spans.append([tag[2:], i, i, [float(probs[i, tag_id])]])
    entities = []
    for label, first, last, confs in spans:
        start, end = _whole_words(text, offsets[first][0], offsets[last][1])
        entity, role, group = split_label(label)
        found = {
            "entity": entity,
            "start": start,
            "end": end,
            "value": text[start:end],
            "confidence_entity": round(min(confs), 4),
            "extractor": extractor,
        }
        if role:
            found["role"] = role
        if group:
            found["group"] = group
        entities.append(found)
    return entities


def _continues_word(text: str, offsets: list[tuple[int, int]], tokens: list[int], k: int) -> bool:
    """A sub-word piece: it starts where the previous token ended, letters or digits on both sides."""
    if k == 0:
        return False
    start, prev_end = offsets[tokens[k]][0], offsets[tokens[k - 1]][1]
    return (
        start == prev_end
        and start > 0
        and text[start - 1].isalnum()
        and text[start].isalnum()
        and ord(text[start]) < 0x2E80
        and ord(text[start - 1]) < 0x2E80
    )  # 号|ORD: two words, not one


def _viterbi(logp, continues: list[bool], names: list[str]) -> list[int]:
    import numpy as np

    n_tags = len(names)
    label = [t[2:] if t != OUTSIDE else None for t in names]
    inside = [t.startswith("I-") for t in names]
    allowed = np.zeros((n_tags, n_tags), dtype=bool)  # allowed[prev, next]
    piece = np.zeros((n_tags, n_tags), dtype=bool)  # for a sub-word piece: same label, or O after O
    for a in range(n_tags):
        for b in range(n_tags):
            allowed[a, b] = not inside[b] or (label[a] is not None and label[a] == label[b])
            piece[a, b] = (label[a] is None and label[b] is None) or (
                label[a] is not None and inside[b] and label[a] == label[b]
            )
    start_ok = np.array([not i for i in inside])
    score = np.where(start_ok, logp[0], -np.inf)
    back = []
    for k in range(1, len(logp)):
        mask = piece if continues[k] else allowed
        cand = score[:, None] + np.where(mask, 0.0, -np.inf)
        best = cand.argmax(0)
        back.append(best)
        score = cand[best, np.arange(n_tags)] + logp[k]
    path = [int(score.argmax())]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    return path[::-1]


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """A span that stops inside a word of a space-separated language grows to the whole word."""

    def is_word(ch: str) -> bool:
        return ch.isalnum() and ord(ch) < 0x2E80  # CJK text has no word spaces: never grow there

    while start > 0 and is_word(text[start - 1]) and is_word(text[start]):
        start -= 1
    while end < len(text) and is_word(text[end]) and is_word(text[end - 1]):
        end += 1
    return start, end


def alignment_problems(examples: list[Example], tokenizer) -> list[Problem]:
    """Annotations this tokenizer cannot express, found without training (for `agent data validate`)."""
    annotated = [e for e in examples if e.entities]
    if not annotated or not getattr(tokenizer, "is_fast", False):
        return []
    names = tag_names(annotated)
    index = {n: i for i, n in enumerate(names)}
    enc = tokenizer([e.text for e in annotated], truncation=True, return_offsets_mapping=True)
    problems = []
    for example, offsets in zip(annotated, enc["offset_mapping"]):
        problems += align(example, [tuple(o) for o in offsets], index).problems
    return problems
