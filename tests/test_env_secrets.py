"""Secrets from environment variables in credentials.yml and endpoints.yml (as Rasa 3.x reads them):
`${NAME}` whole or inside a value, `${NAME:-default}`, `$${NAME}` for a literal, and an unset variable
reported at file:line with its code and what to do."""

from __future__ import annotations

import pytest

from agent.bot.endpoints import load_endpoints
from agent.bot.env_vars import expand_env_vars
from agent.bot.yaml_source import parse_yaml
from agent.errors import BotFileError
from agent.server.credentials import load_channels
from agent.stores.settings import StoreSettings

SLACK = "slack:\n  slack_token: ${SLACK_TOKEN}\n  slack_signing_secret: ${SLACK_SECRET:-from-the-file}\n"


def _slack(path):
    channels, _ = load_channels(path)
    return next(c for c in channels if type(c).__name__ == "SlackChannel")


def test_a_slack_token_comes_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-from-env")
    monkeypatch.delenv("SLACK_SECRET", raising=False)
    path = tmp_path / "credentials.yml"
    path.write_text(SLACK, encoding="utf-8")
    slack = _slack(path)
    assert slack._token == "xoxb-from-env"
    assert slack._secret == "from-the-file"  # the default, SLACK_SECRET being unset


def test_a_set_variable_wins_over_its_default(tmp_path, monkeypatch):
    monkeypatch.setenv("SLACK_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SECRET", "s3cret")
    path = tmp_path / "credentials.yml"
    path.write_text(SLACK, encoding="utf-8")
    assert _slack(path)._secret == "s3cret"


def test_an_unset_variable_is_a_located_error_with_its_code_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.delenv("SLACK_TOKEN", raising=False)
    path = tmp_path / "credentials.yml"
    path.write_text(SLACK, encoding="utf-8")
    with pytest.raises(BotFileError) as err:
        load_channels(path)
    assert err.value.code == "E520"
    text = str(err.value)
    assert f"{path}:2: error E520: slack.slack_token: environment variable SLACK_TOKEN is not set" in text
    assert "set SLACK_TOKEN in the environment or write the value in the file" in text
    assert "Traceback" not in text


def test_a_channel_that_is_skipped_needs_no_variables(tmp_path, monkeypatch):
    monkeypatch.delenv("FB_SECRET", raising=False)
    path = tmp_path / "credentials.yml"
    path.write_text("facebook:\n  secret: ${FB_SECRET}\n", encoding="utf-8")
    channels, warnings = load_channels(path)
    assert [type(c).__name__ for c in channels] == ["RestChannel"] and len(warnings) == 1


def test_endpoints_take_variables_inside_values_and_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("ACTION_HOST", "actions.internal")
    monkeypatch.setenv("REDIS_HOST", "redis.internal")
    monkeypatch.delenv("REDIS_PORT", raising=False)
    path = tmp_path / "endpoints.yml"
    path.write_text(
        "action_endpoint:\n"
        "  url: http://${ACTION_HOST}:5055/webhook\n"
        "tracker_store:\n"
        "  type: redis\n"
        "  url: ${REDIS_HOST}\n"
        "  port: ${REDIS_PORT:-6380}\n"
        "  password: $${NOT_A_VARIABLE}\n",
        encoding="utf-8",
    )
    endpoints = load_endpoints(path)
    assert endpoints.action_url == "http://actions.internal:5055/webhook"
    settings = StoreSettings(endpoints)
    assert settings.host() == "redis.internal"
    assert settings.integer("port", 6379) == 6380
    assert settings.text("password") == "${NOT_A_VARIABLE}"  # $${...} is the literal text
    assert settings.where("url") == f"{path}:5"  # lines survive the expansion


def test_an_unset_variable_in_endpoints_names_its_line(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_HOST", raising=False)
    path = tmp_path / "endpoints.yml"
    path.write_text("tracker_store:\n  type: redis\n  url: redis-${REDIS_HOST}\n", encoding="utf-8")
    with pytest.raises(BotFileError) as err:
        load_endpoints(path)
    assert err.value.code == "E520"
    assert f"{path}:3: error E520: tracker_store.url: environment variable REDIS_HOST is not set" in str(err.value)


@pytest.mark.parametrize("text", ["${SLACK_TOKEN", "${SLACK TOKEN}", "${A:-${B}}", "${}"])
def test_a_malformed_reference_is_a_located_error(text):
    tree = parse_yaml(f"slack:\n  slack_token: '{text}'\n", "credentials.yml")
    _, problems = expand_env_vars(tree, "credentials.yml", {"A": "a", "B": "b", "SLACK_TOKEN": "t"})
    assert [(p.code, p.location()) for p in problems] == [("E521", "credentials.yml:2")]


def test_expansion_is_pure_and_leaves_other_values_alone():
    tree = parse_yaml("a: ${X}\nb: [1, 'x${X}y', true]\nc: |\n  one\n  ${MISSING}\nd: cost $5\n", "f.yml")
    out, problems = expand_env_vars(tree, "f.yml", {"X": "ex"})
    assert out == {"a": "ex", "b": [1, "xexy", True], "c": "one\n${MISSING}\n", "d": "cost $5"}
    assert tree["a"] == "${X}"  # the parsed tree is not changed
    assert [(p.code, p.line) for p in problems] == [("E520", 5)]  # the reference's own line in a block
    assert out.line_of("c") == 3 and out["b"].line_of(1) == 2
