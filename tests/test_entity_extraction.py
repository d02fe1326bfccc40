"""The trained entity extractor: character annotations <-> token tags, joint training, roles, merging."""

from __future__ import annotations

import pytest

from agent.bot.config import IntentTrainingConfig
from agent.bot.nlu_data import Example, parse_annotated
from agent.nlu.entity_tags import IGNORE, align, decode, tag_names
from agent.nlu.interpreter import merge_entities


def _example(annotated: str, intent: str = "book", line: int = 1) -> Example:
    text, entities = parse_annotated(annotated)
    return Example(text, intent, entities, file="data/nlu.yml", line=line)


def _offsets(text: str) -> list[tuple[int, int]]:
    """Word-level offsets with [CLS]/[SEP] placeholders, like a fast tokenizer's mapping."""
    import re

    return [(0, 0)] + [(m.start(), m.end()) for m in re.finditer(r"\w+|[^\w\s]", text)] + [(0, 0)]


def test_align_tags_each_token_of_every_annotation_form_with_role_and_group():
    examples = [
        _example('fly from [berlin]{"entity": "city", "role": "from"} to [new york](city)'),
        _example("[two](amount:number) tickets"),
        _example('a [large]{"entity": "size", "group": "1"} pizza'),
    ]
    names = tag_names(examples)
    index = {n: i for i, n in enumerate(names)}
    ex = examples[0]
    tags = align(ex, _offsets(ex.text), index).tags
    got = [names[t] if t != IGNORE else None for t in tags]
    assert got == [None, "O", "O", "B-city|from|", "O", "B-city||", "I-city||", None]
    # the synonym form [two](amount:number) is still annotated as `amount`
    assert "B-amount||" in names and "B-size||1" in names


def test_an_annotation_inside_a_token_is_reported_with_file_and_line_and_not_learned():
    ex = _example("order [ORD](prefix)123 please", line=7)
    names = tag_names([ex])
    offsets = [(0, 0), (0, 5), (6, 12), (13, 19), (0, 0)]  # "ORD123" is one token
    alignment = align(ex, offsets, {n: i for i, n in enumerate(names)})
    assert len(alignment.problems) == 1
    problem = alignment.problems[0]
    assert (problem.file, problem.line, problem.code) == ("data/nlu.yml", 7, "W203")
    assert alignment.tags[2] == IGNORE


def _probs(tags: list[int], n: int, sure: float = 0.9) -> list[list[float]]:
    return [[sure if j == t else (1 - sure) / (n - 1) for j in range(n)] for t in tags]


def test_decode_maps_tags_back_to_character_spans_of_the_original_text():
    text = "Fly to New  York tomorrow"
    offsets = [(0, 0), (0, 3), (4, 6), (7, 10), (12, 16), (17, 25), (0, 0)]
    names = ["O", "B-city||", "I-city||", "B-city|to|", "I-city|to|"]
    tags = [0, 0, 0, 3, 4, 0, 0]
    found = decode(text, offsets, _probs(tags, 5), names, "X")
    assert [(e["entity"], e["value"], e["start"], e["end"], e.get("role")) for e in found] == [
        ("city", "New  York", 7, 16, "to")
    ]


def test_decode_gives_the_pieces_of_a_word_one_tag():
    text = "ship to munich"
    offsets = [(0, 0), (0, 4), (5, 7), (8, 11), (11, 14), (0, 0)]  # mun ##ich
    probs = _probs([0, 0, 0, 1, 0, 0], 3)
    probs[4] = [0.6, 0.1, 0.3]  # "##ich" alone would be O
    found = decode(text, offsets, probs, ["O", "B-city||", "I-city||"], "X")
    assert found[0]["value"] == "munich"


def test_decode_keeps_one_span_from_falling_apart_into_fragments_of_other_types():
    text = "play the chipmunk song"
    offsets = [(0, 0), (0, 4), (5, 8), (9, 17), (18, 22), (0, 0)]
    names = ["O", "B-track||", "I-track||", "B-album||", "I-album||"]
    probs = [
        [1, 0, 0, 0, 0],
        [0.9, 0.025, 0.025, 0.025, 0.025],
        [0.05, 0.8, 0.05, 0.05, 0.05],  # the
        [0.05, 0.05, 0.8, 0.05, 0.05],  # chipmunk
        [0.05, 0.05, 0.4, 0.05, 0.45],  # song: an orphan I-album by argmax
        [1, 0, 0, 0, 0],
    ]
    found = decode(text, offsets, probs, names, "X")
    assert [(e["entity"], e["value"]) for e in found] == [("track", "the chipmunk song")]


def test_rule_extractors_win_over_the_tagger_on_the_same_span():
    tagged = {"entity": "order_id", "start": 3, "end": 9, "value": "ORD-12", "extractor": "BertEntityExtractor"}
    regex = {"entity": "order_id", "start": 3, "end": 13, "value": "ORD-123456", "extractor": "RegexEntityExtractor"}
    other = {"entity": "city", "start": 20, "end": 25, "value": "paris", "extractor": "BertEntityExtractor"}
    assert merge_entities([tagged, other, regex]) == [regex, other]


CITIES = ["paris", "berlin", "rome", "madrid", "vienna", "london", "oslo", "prague", "dublin", "lisbon"]


def _travel_examples():
    examples = []
    for i, a in enumerate(CITIES):
        b = CITIES[(i + 3) % len(CITIES)]
        examples.append(
            _example(
                f'fly from [{a}]{{"entity": "city", "role": "from"}} to [{b}]{{"entity": "city", "role": "to"}}', "book"
            )
        )
        examples.append(_example(f"what is the weather in [{a}](city)", "weather"))
        examples.append(_example(f'book a trip to [{b}]{{"entity": "city", "role": "to"}}', "book"))
    return examples


@pytest.fixture(scope="module")
def travel_model(tmp_path_factory):
    from agent.nlu.training import train_nlu
    from tests.helpers.tiny_model import make_tiny_bert

    examples = _travel_examples()
    bert = make_tiny_bert(tmp_path_factory.mktemp("bert"), [e.text for e in examples])
    cfg = IntentTrainingConfig(
        max_epochs=30, learning_rate=3e-3, frozen_layers=0, typo_rate=0.0, min_examples_for_validation=10_000
    )
    return train_nlu(examples, cfg, base_model=str(bert)), examples


def test_joint_training_learns_entities_and_roles_and_maps_them_to_characters(travel_model, tmp_path):
    from agent.nlu.intent_model import IntentClassifier

    result, examples = travel_model
    assert result.classifier.tags and result.entity_problems == []
    result.classifier.save(tmp_path / "nlu")
    loaded = IntentClassifier.load(tmp_path / "nlu")
    analyses = loaded.analyse([e.text for e in examples])
    gold = {(i, a.start, a.end, a.entity, a.role) for i, e in enumerate(examples) for a in e.entities}
    found = {(i, x["start"], x["end"], x["entity"], x.get("role")) for i, a in enumerate(analyses) for x in a.entities}
    assert len(gold & found) / len(gold) >= 0.9
    assert all(
        x["value"] == examples[i].text[x["start"] : x["end"]] for i, a in enumerate(analyses) for x in a.entities
    )
    # the neighbour index over the training sentences travels with the model
    assert loaded.neighbours is not None and len(loaded.neighbours.embeddings) == len(examples)
    stranger = loaded.analyse(["xyzzy plugh"])[0].similarity  # only unknown words
    assert analyses[0].similarity > 0.9 and analyses[0].similarity > stranger


def test_no_entity_head_when_entity_recognition_is_off(tmp_path):
    from agent.nlu.training import train_nlu
    from tests.helpers.tiny_model import make_tiny_bert

    examples = _travel_examples()
    bert = make_tiny_bert(tmp_path / "bert", [e.text for e in examples])
    cfg = IntentTrainingConfig(max_epochs=1, entity_recognition=False, min_examples_for_validation=10_000)
    result = train_nlu(examples, cfg, base_model=str(bert))
    assert result.classifier.tags == [] and result.classifier.model.entity_head is None
    assert result.classifier.analyse(["fly from paris to rome"])[0].entities == []


def test_data_validate_reports_annotations_the_tokenizer_cannot_represent(tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO
    from tests.helpers.bot_factory import MINIMAL_DOMAIN, write_bot

    root = write_bot(
        tmp_path / "bot",
        domain=MINIMAL_DOMAIN + "entities:\n  - product\n",
        nlu="""
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - i want [shoe](product)s
    - i want [boots](product)
""",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "data", "validate", str(root)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**__import__("os").environ, "COLUMNS": "200"},
    )
    assert proc.returncode == 0, proc.stderr  # a warning, not an error
    assert "nlu.yml:6" in proc.stderr and "token boundary" in proc.stderr and "'shoe'" in proc.stderr
    assert "'boots'" not in proc.stderr
