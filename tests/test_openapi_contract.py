"""The served /openapi.json states what the server enforces. schemathesis fuzzes a real `agent run
--enable-api` (a small trained bot with an FAQ, on a loopback port) from the schema that server serves:
every response must be documented and match its schema, requests the schema allows must be accepted,
requests it forbids must be refused with a 4xx, and nothing may answer 500."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.helpers.bot_factory import shopbot_copy
from tests.helpers.processes import free_port, wait_until_healthy

if sys.version_info < (3, 11):
    from exceptiongroup import BaseExceptionGroup  # what schemathesis raises for several failures at once

pytestmark = pytest.mark.slow

TOKEN = "contract-s3cret"
EXAMPLES = 30  # generated requests per operation, once with valid data and once with invalid data
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    positive_data_acceptance,
    negative_data_rejection,
]

FAQ_YML = """\
version: "1"
faq:
  - id: store_wifi
    questions:
      - do your stores have free wifi
      - is there wi-fi in the shop
    answer: All our stores have free Wi-Fi called Cobalt-Guest.
    tags: [stores]
  - id: gift_cards
    questions:
      - do you sell gift cards
      - can I buy a gift voucher
    answer:
      text: Gift cards from 10 to 500 euros are on our website.
      buttons:
        - title: Talk to us
          payload: /talk_to_human
"""


@pytest.fixture(scope="module")
def contract_model(tmp_path_factory, shopbot_dir, tiny_bert):
    """The fixture bot on the tiny encoder, plus faq.yml answered by the FAQ retriever."""
    from agent.nlu.encoder import default_base_model
    from agent.train import train_bot

    src = shopbot_copy(
        shopbot_dir, tmp_path_factory.mktemp("contract-src") / "shopbot", 4, FAQ_YML, default_base_model()
    )
    return train_bot(src, tmp_path_factory.mktemp("contract-models"), base_model=str(tiny_bert)).path


@pytest.fixture(scope="module")
def server(contract_model, tmp_path_factory):
    """`agent run --enable-api --auth-token` on a free loopback port, SQLite conversations, no rate limit."""
    work = tmp_path_factory.mktemp("contract-run")
    (work / "credentials.yml").write_text("rest:\n")
    (work / "endpoints.yml").write_text(f"tracker_store:\n  type: sql\n  dialect: sqlite\n  db: {work / 'c.db'}\n")
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log = work / "server.log"  # a file, not a pipe: a pipe nobody reads would stall a chatty server
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agent",
                "run",
                "--model",
                str(contract_model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--enable-api",
                "--auth-token",
                TOKEN,
                "--rate-limit",
                "0",
                "--faq-edits",
                str(work / "faq_edits.db"),
            ],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(f"{base}/health", proc, "agent run", timeout=120)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    output = log.read_text(errors="replace")
    assert "Traceback" not in output, output[-4000:]  # no handler crashed, not even behind a 500


AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Contract:
    """Sends cases to the server with every check; keeps what failed (at most two per operation) and the
    statuses seen."""

    def __init__(self, base: str):
        self.base, self.failures, self.statuses = base, {}, Counter()

    def send(self, case) -> None:
        mode = case.meta.generation.mode
        body, path = case.body, case.path_parameters or {}
        if mode.is_positive and isinstance(body, dict) and "id" in body and "entry_id" in path:
            body["id"] = path["entry_id"]  # the one rule JSON Schema cannot state: a body's id equals the URL's
        try:
            response = case.call_and_validate(base_url=self.base, headers=AUTH, checks=CHECKS, timeout=30)
            self.statuses[case.operation.label, mode.value, response.status_code] += 1
        except (AssertionError, BaseExceptionGroup) as exc:  # a schemathesis Failure, or several at once
            found = self.failures.setdefault(case.operation.label, [])
            if len(found) < 2:  # each says what failed, the response, and a curl command to reproduce it
                found.append(f"{case.operation.label}, {mode.value} data: {exc}")

    def coverage(self, schema, operation) -> None:
        """schemathesis' coverage cases: each boundary and each violation of the schema, one by one (a boolean
        or an empty sender, a missing required field, an empty questions list...)."""
        config = schema.config.generation_for(operation=operation, phase="coverage")
        for case in schema.iter_coverage_cases(
            operation, generation_modes=list(GenerationMode), generation_config=config
        ):
            self.send(case)

    def fuzz(self, operation, mode: GenerationMode) -> None:
        """EXAMPLES random requests, valid or invalid as `mode` says, derandomized: the same ones every run."""

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            print_blob=False,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def send(case):
            self.send(case)

        try:
            send()
        except Unsatisfiable:  # nothing to negate: no parameters and no body, or none schemathesis can send
            assert mode.is_negative, operation.label


@pytest.fixture(scope="module")
def api_schema(server):
    schema = schemathesis.openapi.from_url(f"{server}/openapi.json", timeout=30)
    # the token goes in AUTH on every request: a generated ?token= would be refused (401) before any handler ran
    schema.config.generation.update(with_security_parameters=False)
    return schema


def test_served_resources_match_their_response_schemas(server, api_schema):
    """Fuzzed ids rarely name an existing FAQ entry or conversation: these requests do (before the fuzzing,
    which may edit the FAQ)."""
    entry = api_schema["/faq/{entry_id}"]
    assert post(server, "/webhooks/rest/webhook", {"sender": "known", "message": "/greet"})[0] == 200
    new = {
        "questions": ["are dogs allowed in the store"],
        "answer": {"text": "Dogs are welcome!", "buttons": [{"title": "Talk to us", "payload": "/talk_to_human"}]},
        "tags": ["stores"],
        "language": "en",
    }
    cases = [
        entry["GET"].Case(path_parameters={"entry_id": "store_wifi"}),
        entry["GET"].Case(path_parameters={"entry_id": "faq/shipping_cost"}),  # a Rasa retrieval intent's
        entry["PUT"].Case(path_parameters={"entry_id": "dogs"}, body=new),
        entry["GET"].Case(path_parameters={"entry_id": "dogs"}),
        entry["DELETE"].Case(path_parameters={"entry_id": "dogs"}),
        api_schema["/faq"]["GET"].Case(),
        api_schema["/conversations/{conversation_id}/tracker"]["GET"].Case(
            path_parameters={"conversation_id": "known"}
        ),
        api_schema["/model/parse"]["POST"].Case(body={"text": "do you sell gift cards"}),
        api_schema["/status"]["GET"].Case(),
    ]
    for case in cases:
        response = case.call_and_validate(base_url=server, headers=AUTH, checks=CHECKS, timeout=30)
        assert response.status_code == 200, (case.operation.label, case.path_parameters, response.text[:300])


def _streams(operation) -> bool:
    """A server-sent event stream answers until the client leaves: a request/response fuzzer would only
    time out on it (tests/test_handoff_api.py reads the streams)."""
    ok = operation.definition.raw.get("responses", {}).get("200", {})
    return "text/event-stream" in ok.get("content", {})


def test_every_operation_does_what_the_served_openapi_document_says(server, api_schema):
    contract = Contract(server)
    for path in api_schema:
        for method in api_schema[path].keys():
            operation = api_schema[path][method]
            if _streams(operation):
                continue
            contract.coverage(api_schema, operation)
            for mode in GenerationMode:
                contract.fuzz(operation, mode)
    assert not contract.failures, "\n\n".join(f for found in contract.failures.values() for f in found)
    # the handlers were reached: valid requests were served, invalid ones refused by them (400), not by the auth
    for label in (
        "POST /webhooks/rest/webhook",
        "POST /model/parse",
        "POST /conversations/{conversation_id}/messages",
        "PUT /faq/{entry_id}",
    ):
        assert contract.statuses[label, "positive", 200] >= EXAMPLES // 2, (label, contract.statuses)
        assert contract.statuses[label, "negative", 400] >= EXAMPLES // 2, (label, contract.statuses)


def post(base: str, path: str, body: object, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.parametrize("sender", [True, False, "", None, ["u1"], {"id": "u1"}])
def test_rest_webhook_refuses_a_sender_that_is_not_a_non_empty_string_or_a_number(server, sender):
    status, body = post(server, "/webhooks/rest/webhook", {"sender": sender, "message": "/greet"})
    assert status == 400 and '"sender" must be a non-empty string' in body["error"]


def test_rest_webhook_takes_a_numeric_sender_as_rasa_does(server):
    status, body = post(server, "/webhooks/rest/webhook", {"sender": 7, "message": "/greet"})
    assert status == 200 and body[0]["recipient_id"] == "7"


def test_rest_webhook_takes_what_the_schema_allows(server):
    status, body = post(
        server,
        "/webhooks/rest/webhook",
        {"message": "/greet", "metadata": None, "input_channel": None, "customData": {"x": 1}},
    )
    assert status == 200 and body[0]["recipient_id"] == "default"


@pytest.mark.parametrize("field, value", [("input_channel", 3), ("metadata", "x"), ("metadata", [1])])
def test_rest_webhook_refuses_wrongly_typed_optional_fields(server, field, value):
    status, body = post(server, "/webhooks/rest/webhook", {"sender": "u1", "message": "hi", field: value})
    assert status == 400 and f'"{field}"' in body["error"]


def test_adding_a_message_refuses_metadata_that_is_not_an_object(server):
    status, body = post(server, "/conversations/c1/messages", {"text": "hi", "metadata": "x"}, TOKEN)
    assert status == 400 and '"metadata"' in body["error"]


@pytest.mark.parametrize("questions", [[], ["   "], [""], "are you open", [3]])
def test_an_faq_entry_needs_a_non_empty_list_of_non_blank_questions(server, questions):
    request = urllib.request.Request(
        f"{server}/faq/dogs",
        method="PUT",
        headers={**AUTH, "Content-Type": "application/json"},
        data=json.dumps({"questions": questions, "answer": "Dogs are welcome!"}).encode(),
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    error = json.loads(refused.value.read())["error"]
    assert refused.value.code == 400 and "'questions' must be a non-empty list" in error


def test_the_served_document_declares_the_enforced_constraints(server):
    with urllib.request.urlopen(f"{server}/openapi.json", timeout=30) as response:
        doc = json.loads(response.read())

    def body(path: str, method: str) -> dict:
        return doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]

    webhook = body("/webhooks/rest/webhook", "post")
    assert webhook["required"] == ["message"]
    assert webhook["properties"]["sender"]["oneOf"] == [{"type": "string", "minLength": 1}, {"type": "integer"}]
    faq = body("/faq/{entry_id}", "put")
    assert faq["required"] == ["questions", "answer"] and faq["additionalProperties"] is False
    assert faq["properties"]["questions"]["minItems"] == 1 and faq["properties"]["questions"]["items"]["pattern"]
    assert body("/conversations/{conversation_id}/messages", "post")["properties"]["sender"]["enum"] == ["user"]
    for path, method in (
        ("/webhooks/rest/webhook", "post"),
        ("/model/parse", "post"),
        ("/faq/{entry_id}", "put"),
        ("/conversations/{conversation_id}/messages", "post"),
    ):
        assert "413" in doc["paths"][path][method]["responses"] and "400" in doc["paths"][path][method]["responses"]
