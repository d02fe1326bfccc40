"""FAQ retrieval: faq.yml parsing, the bank and its index, the threshold sweep, routing between
intents and the FAQ, live edits through the CLI, the edit log and the HTTP API, and the artifact."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.faq_entries import FAQEntry, entry_problems
from agent.bot.faq_file import parse_faq
from agent.bot.project import load_bot
from agent.bot.schema import Reader
from agent.bot.yaml_source import read_yaml
from agent.channels.rest import RestChannel
from agent.cli.main import main
from agent.errors import BotFileError, Problems
from agent.faq.bank import FAQBank
from agent.faq.decision import FAQRouter
from agent.faq.edits import REMOVE, UPSERT, FAQEditLog
from agent.faq.index import QuestionIndex
from agent.faq.live import LiveFAQ, merged_entries
from agent.faq.threshold import FAQThreshold, sweep_threshold
from agent.nlu.encoder import default_base_model
from agent.runtime import Agent, load_faq
from agent.server.app import build_app
from agent.server.runner import AgentRunner
from tests.helpers.bot_factory import shopbot_copy

FAQ_YML = """\
version: "1"
faq:
  - id: store_wifi
    questions:
      - do your stores have free wifi
      - is there wi-fi in the shop
      - what is the wifi password in store
    answer: All our stores have free Wi-Fi called Cobalt-Guest.
    tags: [stores]
  - id: gift_cards
    questions:
      - do you sell gift cards
      - can I buy a gift voucher
      - gift card for my sister
    answer:
      text: Gift cards from 10 to 500 euros are on our website.
      buttons:
        - title: Talk to us
          payload: /talk_to_human
  - id: careers
    questions:
      - are you hiring
      - how can I apply for a job with you
      - open positions at your company
    answer: See our open roles on the careers page.
"""


class WordsEmbedder:
    """Deterministic bag-of-words vectors: texts sharing words are similar (no model needed)."""

    dim = 64

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                out[i, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def entries() -> list[FAQEntry]:
    problems = Problems()
    found = parse_faq(read_yaml_text(FAQ_YML), Reader("faq.yml", problems))
    assert not problems.items
    return found


def read_yaml_text(text: str, tmp: Path | None = None):
    import tempfile

    path = Path(tempfile.mkdtemp()) / "faq.yml"
    path.write_text(text)
    return read_yaml(path)


# -- faq.yml ------------------------------------------------------------------------------------


def test_faq_yml_entries_with_text_or_mapping_answers_and_buttons():
    found = {e.id: e for e in entries()}
    assert list(found) == ["store_wifi", "gift_cards", "careers"]
    assert found["store_wifi"].answer == {"text": "All our stores have free Wi-Fi called Cobalt-Guest."}
    assert found["store_wifi"].tags == ["stores"]
    assert found["gift_cards"].answer["buttons"] == [{"title": "Talk to us", "payload": "/talk_to_human"}]
    assert found["careers"].key == "faq/careers" and found["careers"].group == "faq"


def test_faq_yml_mistakes_are_reported_with_their_lines():
    bad = FAQ_YML.replace("    tags: [stores]", "    tagz: [stores]").replace(
        "    answer: See our open roles on the careers page.\n", ""
    )
    problems = Problems()
    parse_faq(read_yaml_text(bad), Reader("faq.yml", problems))
    found = [(p.line, p.code) for p in problems.errors]
    assert (9, "E001") in found  # the unknown key tagz
    assert (20, "E605") in found  # careers has no answer
    twice = Problems()
    found = parse_faq(
        read_yaml_text(FAQ_YML.replace("  - id: careers", "  - id: gift_cards")), Reader("faq.yml", twice)
    )
    assert [(p.line, p.code) for p in twice.errors] == [(20, "E601")]
    assert "first at line 10" in twice.errors[0].message  # names both lines
    assert [e.id for e in found] == ["store_wifi", "gift_cards"]


def test_a_bot_with_a_broken_faq_yml_does_not_load(tmp_path, shopbot_dir):
    bot = tmp_path / "bot"
    shutil.copytree(shopbot_dir, bot)
    (bot / "faq.yml").write_text(FAQ_YML.replace("    questions:\n      - are you hiring", "    questionz:\n      - x"))
    with pytest.raises(BotFileError) as err:
        load_bot(bot)
    found = {(p.file.rsplit("/", 1)[-1], p.line, p.code) for p in err.value.problems.errors}
    assert ("faq.yml", 21, "E001") in found  # the unknown key questionz


def test_rasa_retrieval_intents_and_faq_yml_load_into_one_bank(tmp_path, shopbot_dir):
    bot_dir = tmp_path / "bot"
    shutil.copytree(shopbot_dir, bot_dir)
    (bot_dir / "faq.yml").write_text(FAQ_YML)
    bot = load_bot(bot_dir)
    by_id = {e.id: e for e in bot.faq}
    assert {"store_wifi", "gift_cards", "careers", "faq/shipping_cost", "faq/opening_hours"} == set(by_id)
    assert by_id["faq/shipping_cost"].response == "utter_faq/shipping_cost"
    assert "how much is shipping" in by_id["faq/shipping_cost"].questions


def test_entry_problems_explain_what_is_wrong():
    assert entry_problems({"id": "x", "questions": ["q"], "answer": "a"}) == []
    problems = entry_problems({"id": "bad id!", "questions": [], "answer": {"txt": "a"}, "colour": 1})
    assert any("unknown key 'colour'" in p for p in problems)
    assert any("'id'" in p for p in problems)
    assert any("'questions'" in p for p in problems)
    assert any("'answer'" in p for p in problems)


# -- bank and index -------------------------------------------------------------------------------


def test_bank_finds_the_entry_of_a_paraphrase_and_follows_edits():
    bank = FAQBank.build(entries(), WordsEmbedder())
    assert bank.search(["is there free wifi in your stores"], 2)[0][0].id == "store_wifi"
    assert bank.search(["how to apply for a job"], 1)[0][0].id == "careers"
    bank.upsert(FAQEntry("returns_desk", ["where is the returns desk in the store"], {"text": "Ground floor."}))
    assert bank.search(["returns desk location"], 1)[0][0].id == "returns_desk"
    bank.upsert(FAQEntry("careers", ["internship for students"], {"text": "Internships open in May."}))
    top = bank.search(["internship for students"], 1)[0][0]
    assert top.id == "careers" and top.question == "internship for students"
    assert bank.search(["how can I apply for a job with you"], 1)[0][0].id != "careers"  # old questions gone
    assert bank.remove("store_wifi") and not bank.remove("store_wifi")
    assert all(m.id != "store_wifi" for m in bank.search(["do your stores have free wifi"], 5)[0])


def test_group_search_keeps_one_retrieval_intent():
    found = entries() + [FAQEntry("chitchat/ask_weather", ["is it going to rain"], {"text": "No idea!"})]
    bank = FAQBank.build(found, WordsEmbedder())
    assert bank.groups() == {"faq", "chitchat"}
    assert [m.id for m in bank.search(["do you sell gift cards"], 3, group="chitchat")[0]] == ["chitchat/ask_weather"]


@pytest.mark.parametrize("approximate", [False, True])
def test_question_index_adds_removes_and_agrees_with_exact_search(approximate):
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = QuestionIndex(32, approximate=approximate)
    index.add(np.arange(500), vectors)
    queries = vectors[:20] + 0.05 * rng.normal(size=(20, 32)).astype(np.float32)
    _, ids = index.search(queries, 1)
    assert list(ids[:, 0]) == list(range(20))
    index.remove([0, 1, 2])
    _, ids = index.search(queries[:3], 3)
    assert not set(ids.ravel()) & {0, 1, 2}
    assert len(index) == 497


def test_bank_saves_and_loads_identically(tmp_path):
    bank = FAQBank.build(entries(), WordsEmbedder(), max_weight=0.3)
    bank.save(tmp_path)
    again = FAQBank.load(tmp_path, WordsEmbedder())
    queries = ["wifi in the shop", "gift voucher", "jobs", "unrelated words entirely"]
    for a, b in zip(bank.search(queries, 3), again.search(queries, 3)):
        assert [(m.id, m.question) for m in a] == [(m.id, m.question) for m in b]
        assert np.allclose([m.score for m in a], [m.score for m in b])
    assert again.max_weight == 0.3


# -- threshold sweep and routing ------------------------------------------------------------------


def test_sweep_separates_positives_from_negatives():
    pos = np.array([0.9, 0.85, 0.8, 0.75, 0.7])
    neg = np.array([0.2, 0.3, 0.4, 0.5])
    chosen = sweep_threshold(pos, np.ones(5), neg)
    assert 0.5 < chosen.value <= 0.7
    assert chosen.answered_correctly == 1.0 and chosen.rejected == 1.0 and chosen.margin is None
    # a wrong top answer does not count as answered: the threshold rises above it
    wrong_low = sweep_threshold(pos, np.array([1, 1, 1, 1, 0]), neg)
    assert wrong_low.value > 0.7


def test_sweep_uses_the_margin_when_negatives_score_high_but_sit_nearer_intents():
    pos, neg = np.array([0.8, 0.7, 0.75]), np.array([0.8, 0.78, 0.3])
    chosen = sweep_threshold(
        pos, np.ones(3), neg, pos_gaps=np.array([0.3, 0.2, 0.25]), neg_gaps=np.array([-0.1, -0.15, 0.0])
    )
    assert chosen.answered_correctly == 1.0 and chosen.rejected == 1.0
    assert -0.1 < chosen.margin <= 0.2  # keeps out the 0.8 negative that sits 0.1 nearer an intent


def _fallback(text):
    return {
        "text": text,
        "intent": {"name": "nlu_fallback", "confidence": 0.3},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.3}],
        "entities": [],
    }


def test_router_answers_a_known_question_and_leaves_an_unknown_one_to_fallback():
    emb = WordsEmbedder()
    router = FAQRouter(FAQBank.build(entries(), emb), FAQThreshold(0.5, "test", None))
    known = router.decide(_fallback("do you sell gift cards"), emb.embed(["do you sell gift cards"])[0])
    assert known["intent"]["name"] == "faq" and known["faq"]["answer"] == "gift_cards"
    selected = known["response_selector"]["faq"]["response"]
    assert selected["intent_response_key"] == "faq/gift_cards"
    assert selected["responses"][0]["buttons"] == [{"title": "Talk to us", "payload": "/talk_to_human"}]
    unknown = router.decide(_fallback("what is the capital of peru"), emb.embed(["what is the capital of peru"])[0])
    assert unknown["intent"]["name"] == "nlu_fallback" and unknown["faq"]["answer"] is None
    assert unknown["faq"]["candidates"]  # candidates are there for the debug view either way


# -- a trained bot: Rasa retrieval intents + faq.yml, real sentence encoder for the FAQ ---------------


@pytest.fixture(scope="session")
def faqbot(tmp_path_factory, shopbot_dir, tiny_bert):
    from agent.train import train_bot

    src = shopbot_copy(shopbot_dir, tmp_path_factory.mktemp("faqsrc") / "faqbot", 8, FAQ_YML, default_base_model())
    return train_bot(src, tmp_path_factory.mktemp("faqmodels"), base_model=str(tiny_bert))


def test_training_sweeps_faq_thresholds_and_ships_the_encoder(faqbot):
    t = faqbot.faq.threshold
    assert t.chosen_by == "balanced accuracy on validation" and t.positives > 0 and t.negatives > 0
    assert faqbot.faq.onnx_problem is None
    agent = Agent.load(faqbot.path)
    assert type(agent.interpreter.faq.bank.embedder).__name__ == "OnnxSentenceEmbedder"


def test_the_served_index_reloads_from_the_artifact_identically(faqbot):
    router = Agent.load(faqbot.path).interpreter.faq
    again = Agent.load(faqbot.path).interpreter.faq
    built = faqbot.faq.bank
    queries = ["is the wifi free in your shops", "can I get a voucher as a present", "how much is delivery"]
    for a, b, c in zip(router.bank.search(queries, 5), again.bank.search(queries, 5), built.search(queries, 5)):
        assert [m.id for m in a] == [m.id for m in b] == [m.id for m in c]
        assert np.allclose([m.score for m in a], [m.score for m in b])
        assert np.allclose([m.score for m in a], [m.score for m in c], atol=2e-3)  # ONNX vs torch at training


def test_a_rasa_retrieval_bot_and_faq_yml_both_answer(faqbot):
    agent = Agent.load(faqbot.path, seed=0)

    async def go():
        shipping = await agent.handle_text("how much is shipping", "u1")
        wifi = await agent.handle_text("do your stores have free wifi", "u2")
        return shipping, wifi

    shipping, wifi = asyncio.run(go())
    assert [m["text"] for m in shipping.messages] == ["Shipping is free above 50 euros."]
    assert [m["text"] for m in wifi.messages] == ["All our stores have free Wi-Fi called Cobalt-Guest."]


def test_the_swept_threshold_sends_an_unknown_question_to_fallback(faqbot):
    router = load_faq(Path(Agent.load(faqbot.path).artifact.folder) / "faq")
    text = "what is the boiling point of mercury in kelvin"
    unknown = router.decide(_fallback(text), router.embed([text])[0])
    assert unknown["intent"]["name"] == "nlu_fallback" and unknown["faq"]["answer"] is None
    known = router.decide(_fallback("is there wi-fi in the shop"), router.embed(["is there wi-fi in the shop"])[0])
    assert known["faq"]["answer"] == "store_wifi"


# -- live edits ---------------------------------------------------------------------------------


def test_edit_log_replays_in_order_and_merges_over_trained_entries(tmp_path):
    log = FAQEditLog(tmp_path / "edits.db")
    log.append("shop", UPSERT, "a", {"id": "a", "questions": ["q a"], "answer": {"text": "A"}})
    log.append("other-bot", UPSERT, "z", {"id": "z", "questions": ["q z"], "answer": {"text": "Z"}})
    log.append("shop", REMOVE, "careers")
    log.append("shop", UPSERT, "a", {"id": "a", "questions": ["q a2"], "answer": {"text": "A2"}})
    edits = log.since("shop")
    assert [e.op for e in edits] == [UPSERT, REMOVE, UPSERT]
    merged = {e.id: e for e in merged_entries(entries(), edits)}
    assert set(merged) == {"store_wifi", "gift_cards", "a"} and merged["a"].answer == {"text": "A2"}
    assert log.since("shop", edits[1].seq) == edits[2:]


def test_cli_add_update_remove_round_trip_reaches_the_served_bot(faqbot, tmp_path, capsys):
    edits = str(tmp_path / "edits.db")
    model = str(faqbot.path)
    agent = Agent.load(model, seed=0)
    live = LiveFAQ(agent.interpreter.faq, agent.artifact.manifest["bot"], FAQEditLog(edits))
    question = "where is the returns desk in the store"

    def served(text=question):
        live.catch_up()
        return agent.interpreter.parse(text)["faq"]

    assert (
        main(
            [
                "faq",
                "add",
                "returns_desk",
                "-q",
                question,
                "-q",
                "returns counter location",
                "-a",
                "On the ground floor.",
                "--button",
                "Talk to us=/talk_to_human",
                "--model",
                model,
                "--edits",
                edits,
            ]
        )
        == 0
    )
    faq = served()
    assert faq["candidates"][0]["id"] == "returns_desk" and faq["candidates"][0]["score"] > 0.9
    assert live.router.bank.get("returns_desk").answer["buttons"] == [
        {"title": "Talk to us", "payload": "/talk_to_human"}
    ]
    assert main(["faq", "add", "returns_desk", "-q", "x", "-a", "y", "--model", model, "--edits", edits]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["faq", "update", "returns_desk", "-a", "First floor now.", "--model", model, "--edits", edits]) == 0
    served()
    assert live.router.bank.get("returns_desk").answer["text"] == "First floor now."
    assert live.router.bank.get("returns_desk").questions == [question, "returns counter location"]
    capsys.readouterr()
    assert main(["faq", "list", "--json", "--model", model, "--edits", edits]) == 0
    listed = {e["id"]: e for e in json.loads(capsys.readouterr().out)}
    assert listed["returns_desk"]["answer"]["text"] == "First floor now." and "faq/shipping_cost" in listed
    assert main(["faq", "remove", "returns_desk", "--model", model, "--edits", edits]) == 0
    assert all(c["id"] != "returns_desk" for c in served()["candidates"])
    assert main(["faq", "remove", "returns_desk", "--model", model, "--edits", edits]) == 1
    assert "no FAQ entry 'returns_desk'" in capsys.readouterr().err
    # the log outlives the process: a fresh server replays it
    again = Agent.load(model)
    LiveFAQ(again.interpreter.faq, again.artifact.manifest["bot"], FAQEditLog(edits)).catch_up()
    assert again.interpreter.faq.bank.get("returns_desk") is None


def test_http_edits_are_served_by_the_next_message_and_persisted(faqbot, tmp_path):
    agent = Agent.load(faqbot.path, seed=0)
    log_path = tmp_path / "edits.db"
    live = LiveFAQ(agent.interpreter.faq, agent.artifact.manifest["bot"], FAQEditLog(log_path))
    entry = {"questions": ["can I bring my dog into the store"], "answer": {"text": "Dogs are welcome!"}}

    async def go():
        runner = AgentRunner(agent, live_faq=live)
        app = build_app(runner, [RestChannel()], enable_api=True, token="t0k")
        async with TestClient(TestServer(app)) as client:
            out = {"unauth": (await client.put("/faq/dogs", json=entry)).status}
            auth = {"Authorization": "Bearer t0k"}
            bad = await client.put("/faq/dogs", json={"questions": [], "answer": 3}, headers=auth)
            out["bad"] = (bad.status, (await bad.json())["error"])
            put = await client.put("/faq/dogs", json=entry, headers=auth)
            out["put"] = (put.status, await put.json())
            reply = await client.post(
                "/webhooks/rest/webhook", json={"sender": "d1", "message": "can I bring my dog into the store"}
            )
            out["reply"] = await reply.json()
            out["one"] = await (await client.get("/faq/dogs", headers=auth)).json()
            out["retrieval_id"] = (await client.get("/faq/faq/shipping_cost", headers=auth)).status
            out["delete"] = (await client.delete("/faq/dogs", headers=auth)).status
            out["delete_again"] = (await client.delete("/faq/dogs", headers=auth)).status
            out["list"] = await (await client.get("/faq", headers=auth)).json()
            return out

    out = asyncio.run(go())
    assert out["unauth"] == 401
    assert out["bad"][0] == 400 and "'questions'" in out["bad"][1] and "'answer'" in out["bad"][1]
    assert out["put"][0] == 200 and out["put"][1]["entry"]["id"] == "dogs"
    assert [m["text"] for m in out["reply"]] == ["Dogs are welcome!"]
    assert out["one"]["answer"] == {"text": "Dogs are welcome!"}
    assert out["retrieval_id"] == 200
    assert (out["delete"], out["delete_again"]) == (200, 404)
    assert "dogs" not in {e["id"] for e in out["list"]["entries"]}
    assert [e.op for e in FAQEditLog(log_path).since(agent.artifact.manifest["bot"])] == [UPSERT, REMOVE]


def test_leave_one_out_scores_each_question_as_the_bank_would_without_it():
    from agent.faq.training import leave_one_out

    found = entries() + [FAQEntry("lonely", ["a single question entry"], {"text": "x"})]
    bank = FAQBank.build(found, WordsEmbedder())
    scores, correct, vectors = leave_one_out(bank)
    assert len(scores) == 9  # the one-question entry has nothing left to find it by
    for score, right, vector in zip(scores, correct, vectors):
        owner, index = next(
            (e.id, i) for e in bank.entries() for i, v in enumerate(bank.vectors_of(e.id)) if np.array_equal(v, vector)
        )
        expected = {
            e.id: bank.score_vectors(
                np.delete(bank.vectors_of(e.id), index, axis=0) if e.id == owner else bank.vectors_of(e.id), vector
            )
            for e in bank.entries()
        }
        best = max(expected, key=expected.get)
        assert score == pytest.approx(expected[best], abs=1e-5) and right == (best == owner)


def test_reading_an_edit_log_nobody_wrote_creates_no_file(tmp_path):
    log = FAQEditLog(tmp_path / "sub" / "edits.db")
    assert log.since("shop") == [] and not (tmp_path / "sub").exists()
    log.append("shop", REMOVE, "x")
    assert [e.entry_id for e in FAQEditLog(tmp_path / "sub" / "edits.db").since("shop")] == ["x"]


def test_an_approximate_bank_saves_its_graph_and_loads_it_identically(tmp_path, monkeypatch):
    import agent.faq.index as index_module

    monkeypatch.setattr(index_module, "APPROXIMATE_FROM", 5)
    bank = FAQBank.build(entries(), WordsEmbedder())
    assert bank._index.approximate
    bank.save(tmp_path)
    assert (tmp_path / "index.faiss").is_file()
    again = FAQBank.load(tmp_path, WordsEmbedder())
    assert again._index.approximate and again._index._base.hnsw.efSearch == index_module.HNSW_EF_SEARCH
    queries = ["wifi in the shop", "gift voucher", "jobs"]
    for a, b in zip(bank.search(queries, 3), again.search(queries, 3)):
        assert [(m.id, round(m.score, 5)) for m in a] == [(m.id, round(m.score, 5)) for m in b]
    again.upsert(FAQEntry("new", ["brand new question about parking"], {"text": "P"}))
    assert again.search(["parking question"], 1)[0][0].id == "new"
