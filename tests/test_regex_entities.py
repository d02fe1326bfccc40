from agent.bot.nlu_data import NLUData, RegexFeature
from agent.nlu.regex_entities import RegexEntityExtractor, map_synonyms


def _data():
    return NLUData(
        regexes=[RegexFeature("order_id", r"ORD-\d{6}"), RegexFeature("zip", r"\d{5}")],
        lookups={"colour": ["blue", "navy blue", "red"]},
        synonyms={"navy blue": "blue"},
    )


def test_regexes_and_lookups_named_after_declared_entities_extract():
    ex = RegexEntityExtractor.from_data(_data(), {"order_id", "colour"})
    found = ex.extract("Order ORD-123456 in Navy Blue please, not reddish")
    assert [(e["entity"], e["value"], e["start"], e["end"]) for e in found] == [
        ("order_id", "ORD-123456", 6, 16),
        ("colour", "Navy Blue", 20, 29),
    ]
    assert "zip" not in ex.patterns  # not a declared entity: a feature only, as in Rasa


def test_overlapping_lookup_matches_keep_the_longest():
    ex = RegexEntityExtractor.from_data(_data(), {"colour"})
    assert [e["value"] for e in ex.extract("navy blue")] == ["navy blue"]


def test_synonyms_map_values_and_round_trip():
    ex = RegexEntityExtractor.from_dict(RegexEntityExtractor.from_data(_data(), {"colour"}).to_dict())
    entities = map_synonyms(ex.extract("navy blue"), _data().synonyms)
    assert entities[0]["value"] == "blue" and entities[0]["processors"] == ["EntitySynonymMapper"]


def test_lookup_values_match_inside_chinese_text_but_not_inside_latin_words():
    from agent.bot.nlu_data import NLUData

    data = NLUData(lookups={"colour": ["黑色", "red"]})
    extractor = RegexEntityExtractor.from_data(data, {"colour"})
    assert [e["value"] for e in extractor.extract("有黑色的吗")] == ["黑色"]
    assert [e["value"] for e in extractor.extract("要red的")] == ["red"]
    assert extractor.extract("shredded") == []
