"""config.yml: Rasa components and policies mapped onto our settings; warnings versus errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.bot.config import AgentConfig, parse_config
from agent.bot.project import load_bot
from agent.bot.schema import Reader
from agent.bot.yaml_source import parse_yaml
from agent.errors import BotFileError, Problems
from tests.helpers.bot_factory import line_of, normalize, only_problem, same_file, write_bot


def _parse(text: str, bot_dir: Path | None = None) -> tuple[AgentConfig, Problems]:
    problems = Problems()
    config = parse_config(parse_yaml(normalize(text), "config.yml"), Reader("config.yml", problems), bot_dir)
    return config, problems


def test_defaults_without_a_config():
    config, problems = _parse("")
    assert problems.items == []
    assert config.language == "en"
    assert (config.fallback.threshold, config.fallback.ambiguity_threshold) == (0.3, 0.1)
    assert config.policy.core_fallback_threshold == 0.3
    assert config.policy.core_fallback_action_name == "action_default_fallback"
    assert config.policy.max_history == 5
    assert config.intent.base_model is None


def test_fallback_classifier_thresholds_are_honoured():
    config, problems = _parse("""
    pipeline:
    - name: WhitespaceTokenizer
    - name: FallbackClassifier
      threshold: 0.55
      ambiguity_threshold: 0.05
    """)
    assert problems.items == []
    assert config.fallback.threshold == 0.55
    assert config.fallback.ambiguity_threshold == 0.05
    assert any("FallbackClassifier" in n and "0.55" in n for n in config.notes)


def test_rule_policy_fallback_settings_are_honoured():
    config, problems = _parse("""
    policies:
    - name: RulePolicy
      core_fallback_threshold: 0.45
      core_fallback_action_name: action_my_fallback
      enable_fallback_prediction: false
    """)
    assert problems.items == []
    assert config.policy.core_fallback_threshold == 0.45
    assert config.policy.core_fallback_action_name == "action_my_fallback"
    assert config.policy.enable_fallback_prediction is False
    assert config.policy.policies == ["RulePolicy"]


@pytest.mark.parametrize("policy", ["MemoizationPolicy", "TEDPolicy", "AugmentedMemoizationPolicy"])
def test_max_history_from_memoization_and_ted(policy):
    config, problems = _parse(f"""
    policies:
    - name: {policy}
      max_history: 3
    """)
    assert problems.items == []
    assert config.policy.max_history == 3
    assert config.policy.policies == [policy, "RulePolicy"]  # RulePolicy is always there


def test_policy_list_order_and_last_max_history_wins():
    config, _ = _parse("""
    policies:
    - name: MemoizationPolicy
      max_history: 2
    - name: RulePolicy
    - name: TEDPolicy
      max_history: 8
      epochs: 100
    """)
    assert config.policy.policies == ["MemoizationPolicy", "RulePolicy", "TEDPolicy"]
    assert config.policy.max_history == 8


def test_non_numeric_setting_is_an_error_with_line():
    text = """
    pipeline:
    - name: FallbackClassifier
      threshold: high
    """
    config, problems = _parse(text)
    p = only_problem(problems, code="E403")
    assert p.line == line_of(text, "threshold: high") == 3
    assert config.fallback.threshold == 0.3


def test_duckling_maps_to_builtin_extractors_and_uninstalled_spacy_model_warns():
    text = """
    language: en
    pipeline:
    - name: SpacyNLP
      model: xx_surely_not_installed_model
    - name: SpacyTokenizer
    - name: DIETClassifier
      epochs: 100
    - name: DucklingEntityExtractor
      url: http://localhost:8000
      dimensions: [amount-of-money, email, distance]
    """
    config, problems = _parse(text)
    assert problems.errors == []
    spacy = only_problem(problems, code="W404")
    assert spacy.line == line_of(text, "- name: SpacyNLP") == 3
    assert config.builtin_entities == ["amount-of-money", "email"]
    unknown = only_problem(problems, code="W405")
    assert unknown.line == line_of(text, "dimensions: [amount-of-money") == 10
    assert "DIETClassifier: replaced by the fine-tuned transformer intent classifier" in config.notes
    assert any(n.startswith("DIETClassifier: accepted, not used: epochs: 100 (") for n in config.notes)
    assert any(
        n.startswith("DucklingEntityExtractor: accepted, not used: url: http://localhost:8000") for n in config.notes
    )


def test_unknown_component_and_policy_warn():
    text = """
    pipeline:
    - name: my_package.MyTokenizer
    policies:
    - name: MyPolicy
    """
    config, problems = _parse(text)
    assert problems.errors == []
    assert only_problem(problems, code="W401", line=2)  # my_package.MyTokenizer
    assert only_problem(problems, code="W401", line=4)  # MyPolicy
    assert config.policy.policies == ["RulePolicy"]


def test_component_given_by_full_class_path_is_known():
    config, problems = _parse("""
    pipeline:
    - name: rasa.nlu.classifiers.fallback_classifier.FallbackClassifier
      threshold: 0.7
    """)
    assert problems.items == []
    assert config.fallback.threshold == 0.7


def test_a_non_english_language_gets_the_multilingual_encoder():
    config, problems = _parse("language: zh\n")
    assert config.language == "zh" and config.intent.base_model == "multilingual-e5-small"
    assert any("multilingual-e5-small" in note for note in config.notes) and not problems.items
    config, _ = _parse("language: zh\nbase_model: /models/chinese-bert\n")
    assert config.intent.base_model == "/models/chinese-bert"  # a model the user brings wins


def test_a_non_english_language_without_the_zh_extra_warns_how_to_install_it(monkeypatch, tmp_path, capsys):
    import agent.nlu.multilingual.install as install
    from agent.cli.main import main

    monkeypatch.setattr(install, "available", lambda: False)
    config, problems = _parse("language: de\n")
    assert config.language == "de" and problems.items == []  # the files are fine: this machine lacks it
    warning = install.missing_encoder(config, "config.yml")
    assert warning.code == "W407" and "pip install 'agent[zh]'" in warning.hint
    assert install.missing_encoder(_parse("language: en\n")[0], "config.yml") is None
    bot = write_bot(tmp_path / "bot", config="language: de\n")
    assert main(["data", "validate", str(bot)]) == 0
    assert "warning W407" in capsys.readouterr().err


def test_unknown_top_level_key_is_an_error_naming_the_line(tmp_path):
    config = """
    recipe: default.v1
    language: en
    pipline:
    - name: WhitespaceTokenizer
    policies:
    - name: RulePolicy
    """
    root = write_bot(tmp_path / "bot", config=config)
    problems = Problems()
    with pytest.raises(BotFileError):
        load_bot(root, problems)
    p = only_problem(problems, code="E001")
    assert same_file(p.file, root / "config.yml")
    assert p.line == line_of(config, "pipline:") == 3
    assert "did you mean 'pipeline'" in p.hint


def test_warnings_do_not_stop_a_strict_load(tmp_path):
    root = write_bot(tmp_path / "bot", config="pipeline:\n- name: SpacyEntityExtractor\n")
    bot = load_bot(root, strict=True)
    assert bot.problems.errors == []
    w = only_problem(bot.problems, code="W406")
    assert same_file(w.file, root / "config.yml") and w.line == 2


def test_base_model_resolves_relative_to_the_bot_dir(tmp_path, monkeypatch):
    root = write_bot(tmp_path / "bot", config="language: en\nbase_model: models/encoder\n")
    (root / "models" / "encoder").mkdir(parents=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not relative to the working directory
    bot = load_bot(root)
    assert Path(bot.config.intent.base_model) == root / "models" / "encoder"


def test_bert_intent_classifier_settings():
    config, problems = _parse("""
    pipeline:
    - name: BertIntentClassifier
      epochs: 3
      batch_size: 8
      learning_rate: 0.001
      frozen_layers: 0
      patience: 1
      random_seed: 7
    """)
    assert problems.items == []
    ic = config.intent
    assert (ic.max_epochs, ic.batch_size, ic.learning_rate, ic.frozen_layers, ic.patience, ic.random_seed) == (
        3,
        8,
        0.001,
        0,
        1,
        7,
    )


def test_config_round_trips_through_dict():
    config, _ = _parse("""
    pipeline:
    - name: FallbackClassifier
      threshold: 0.6
    policies:
    - name: TEDPolicy
      max_history: 4
    """)
    again = AgentConfig.from_dict(config.to_dict())
    assert again == config
    assert again.fallback.threshold == 0.6 and again.policy.max_history == 4


def test_spacy_model_given_as_a_path_does_not_crash(tmp_path):
    root = write_bot(tmp_path / "bot", config="pipeline:\n- name: SpacyNLP\n  model: ./spacy_model\n")
    bot = load_bot(root, strict=False)
    assert bot.problems.errors == []


UNKNOWN_KEYS_NEAR_AND_FAR = """
pipeline:
- name: CountVectorsFeaturizer
  zzz_from_a_newer_rasa: 1
- name: BertIntentClassifier
  zzz_not_ours: 1
"""
WRONG_TYPES = """
pipeline:
- name: BertIntentClassifier
  sparse_features: maybe
  epochs: 2.5
"""


def _misspelt(section: str, name: str, key: str, suggestion: str, value: str = "0.5"):
    return pytest.param(
        f"{section}:\n- name: {name}\n  {key}: {value}\n",
        "E404",
        3,
        f"did you mean '{suggestion}'?",
        id=f"{name} {key}",
    )


# One row per problem, parsed alone: config.yml, the problem's code and line, and its whole hint (None: not
# checked). A file holding two problems of one code has a row for each.
CONFIG_PROBLEMS = [
    _misspelt("pipeline", "BertIntentClassifier", "lerning_rate", "learning_rate"),
    _misspelt("pipeline", "DIETClassifier", "epoch", "epochs"),
    _misspelt("pipeline", "FallbackClassifier", "treshold", "threshold"),
    _misspelt("pipeline", "ResponseSelector", "max_wieght", "max_weight"),
    _misspelt("policies", "TEDPolicy", "max_histroy", "max_history", "9"),
    _misspelt("policies", "MemoizationPolicy", "max_hist", "max_history", "9"),
    _misspelt("policies", "RulePolicy", "core_fallback_treshold", "core_fallback_threshold", "9"),
    pytest.param(UNKNOWN_KEYS_NEAR_AND_FAR, "W402", 3, None, id="a key far from any Rasa key only warns"),
    pytest.param(UNKNOWN_KEYS_NEAR_AND_FAR, "E404", 5, None, id="a key unknown to one of our components"),
    pytest.param(WRONG_TYPES, "E403", 3, None, id="not true or false"),
    pytest.param(WRONG_TYPES, "E403", 4, None, id="not a whole number"),
    pytest.param("pipeline:\n- threshold: 0.4\n", "E402", 2, None, id="component without name"),
    pytest.param(
        "pipeline:\n- name: DIETClasifier\n", "W401", 2, "did you mean 'DIETClassifier'?", id="misspelt component name"
    ),
]


@pytest.mark.parametrize("text,code,line,hint", CONFIG_PROBLEMS)
def test_a_config_problem_has_its_code_line_and_hint(text, code, line, hint):
    _, problems = _parse(text)
    p = only_problem(problems, code=code, line=line)
    assert hint is None or p.hint == hint


def test_rasa_keys_we_do_not_use_are_listed_once_with_why():
    config, problems = _parse("""
    pipeline:
    - name: DIETClassifier
      epochs: 100
      constrain_similarities: true
    policies:
    - name: TEDPolicy
      transformer_size: 128
      max_history: 4
    """)
    assert problems.items == []
    diet = [n for n in config.notes if n.startswith("DIETClassifier: accepted, not used")]
    assert diet == [
        "DIETClassifier: accepted, not used: epochs: 100, constrain_similarities: True "
        "(the fine-tuned transformer classifier replaces it; fine-tuning stops early on validation "
        "accuracy)"
    ]
    assert any(n.startswith("TEDPolicy: accepted, not used: transformer_size: 128") for n in config.notes)
    assert config.policy.max_history == 4
