"""The aiohttp server end to end: REST channel, HTTP API, metrics, guards, ordering, batching, SQLite."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp.test_utils import TestClient, TestServer

from agent.bot.endpoints import Endpoints, load_endpoints
from agent.channels.rest import RestChannel
from agent.core.events import UserUttered
from agent.core.processor import UserMessage
from agent.errors import AgentError
from agent.runtime import Agent
from agent.server.app import build_app
from agent.server.batching import MicroBatcher
from agent.server.credentials import load_channels
from agent.server.runner import AgentRunner, RateLimit
from agent.stores.factory import build_store
from agent.stores.sqlite_store import SQLiteTrackerStore

HELLO = [
    {
        "recipient_id": "u1",
        "text": "Hello! How can I help?",
        "buttons": [
            {"title": "Where is my order?", "payload": "/order_status"},
            {"title": "A human, please", "payload": "/talk_to_human"},
        ],
    }
]


def serve(agent, coro_fn, *, enable_api=False, token=None, rate=None):
    """Run `coro_fn(client, runner)` against a live server on a loopback port."""

    async def go():
        runner = AgentRunner(agent, rate)
        app = build_app(
            runner, [RestChannel()], enable_api=enable_api, token=token, model_file="m.tar.gz", model_id="m"
        )
        async with TestClient(TestServer(app)) as client:
            return await coro_fn(client, runner)

    return asyncio.run(go())


@pytest.fixture()
def agent(trained_shopbot):
    return Agent.load(trained_shopbot.path, seed=0)


def test_rest_webhook_answers_like_rasa(agent):
    async def go(client, runner):
        health = await (await client.get("/webhooks/rest/")).json()
        resp = await client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": "/greet"})
        return health, resp.status, await resp.json()

    health, status, body = serve(agent, go)
    assert health == {"status": "ok"}
    assert status == 200
    assert body == HELLO


def test_rest_rejects_bad_input_with_a_clear_400_and_oversize_with_413(agent):
    async def go(client, runner):
        out = []
        for data in (
            b"{not json",
            b"[1, 2]",
            json.dumps({"sender": "u1"}).encode(),
            json.dumps({"sender": "u1", "message": "hi", "metadata": "x"}).encode(),
        ):
            resp = await client.post("/webhooks/rest/webhook", data=data, headers={"Content-Type": "application/json"})
            out.append((resp.status, (await resp.json())["error"]))
        big = await client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": "x" * 70_000})
        out.append((big.status, (await big.json())["error"]))
        return out

    results = serve(agent, go)
    assert [s for s, _ in results] == [400, 400, 400, 400, 413]
    assert "not valid JSON" in results[0][1] and '"message" must be a string' in results[2][1]
    assert "metadata" in results[3][1] and "larger than" in results[4][1]


def test_internal_errors_do_not_leak_tracebacks(agent):
    async def boom(message):
        raise RuntimeError("secret internals at /srv/app.py line 3")

    agent.processor.handle_message = boom

    async def go(client, runner):
        resp = await client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": "hi"})
        return resp.status, await resp.text()

    status, text = serve(agent, go)
    assert status == 500
    assert "internal error" in text and "secret internals" not in text and "Traceback" not in text


def test_rate_limit_answers_429_with_retry_after(agent):
    async def go(client, runner):
        statuses = []
        for _ in range(3):
            resp = await client.post("/webhooks/rest/webhook", json={"sender": "flood", "message": "/greet"})
            statuses.append((resp.status, resp.headers.get("Retry-After")))
        other = await client.post("/webhooks/rest/webhook", json={"sender": "calm", "message": "/greet"})
        return statuses, other.status

    statuses, other = serve(agent, go, rate=RateLimit(per_second=0.5, burst=2))
    assert [s for s, _ in statuses] == [200, 200, 429]
    assert int(statuses[2][1]) >= 1
    assert other == 200  # the limit is per sender


def test_messages_of_one_conversation_run_in_arrival_order(agent):
    texts = [f'/inform{{"order_id": "ORD-{i}"}}' for i in range(12)]

    async def go(client, runner):
        await asyncio.gather(
            *(client.post("/webhooks/rest/webhook", json={"sender": "o", "message": t}) for t in texts)
        )
        tracker = await agent.processor.store.retrieve("o", agent.domain)
        return [e.text for e in tracker.events if isinstance(e, UserUttered)]

    seen = serve(agent, go)
    assert sorted(seen) == sorted(texts)
    # asyncio.gather starts the requests in order; the per-conversation lock keeps that order
    assert seen == texts


def test_different_conversations_run_concurrently(agent):
    release = asyncio.Event

    async def go(client, runner):
        gate = release()
        real = agent.processor.handle_message

        async def maybe_slow(message):
            if message.sender_id == "slow":
                await gate.wait()
            return await real(message)

        agent.processor.handle_message = maybe_slow
        slow = asyncio.ensure_future(runner.submit(UserMessage("/greet", "slow", "rest")))
        fast = await asyncio.wait_for(runner.submit(UserMessage("/greet", "fast", "rest")), 5)
        assert not slow.done()
        gate.set()
        return fast, await slow

    fast, slow = serve(agent, go)
    assert fast[0]["text"] == slow[0]["text"] == "Hello! How can I help?"


def test_micro_batching_groups_concurrent_parses_without_delaying_a_lone_one():
    batches: list[list[str]] = []

    def parse_batch(texts, previous):
        import time

        time.sleep(0.05)
        batches.append(list(texts))
        return [{"text": t} for t in texts]

    async def go():
        batcher = MicroBatcher(parse_batch, max_batch=8)
        lone = await batcher.parse("alone")
        results = await asyncio.gather(*(batcher.parse(f"m{i}") for i in range(10)))
        batcher.close()
        return lone, results

    lone, results = asyncio.run(go())
    assert lone == {"text": "alone"} and batches[0] == ["alone"]
    assert [r["text"] for r in results] == [f"m{i}" for i in range(10)]
    # all ten queued before the model thread was free: they share passes of at most max_batch
    assert batches[1:] == [[f"m{i}" for i in range(8)], ["m8", "m9"]]


def test_batched_parse_equals_single_parse(agent):
    texts = ["where is my order", "hello there", "/greet", "", "i want to talk to a person"]
    batch = agent.interpreter.parse_batch(texts)
    for text, parsed in zip(texts, batch):
        single = agent.interpreter.parse(text)
        assert parsed["intent"]["name"] == single["intent"]["name"]
        assert parsed["intent"]["confidence"] == pytest.approx(single["intent"]["confidence"], abs=1e-4)


def test_http_api_needs_the_token_and_serves_rasa_routes(agent):
    async def go(client, runner):
        out = {}
        out["no_token"] = (await client.post("/model/parse", json={"text": "hello"})).status
        out["wrong"] = (await client.get("/status", params={"token": "nope"})).status
        out["status"] = await (await client.get("/status", params={"token": "s3cret"})).json()
        parsed = await client.post("/model/parse", json={"text": "/greet"}, headers={"Authorization": "Bearer s3cret"})
        out["parse"] = await parsed.json()
        await client.post("/webhooks/rest/webhook", json={"sender": "c1", "message": "/greet"})
        added = await client.post(
            "/conversations/c1/messages", params={"token": "s3cret"}, json={"text": "/goodbye", "sender": "user"}
        )
        out["added"] = await added.json()
        tracker = await client.get("/conversations/c1/tracker", params={"token": "s3cret"})
        out["tracker"] = await tracker.json()
        out["version"] = await (await client.get("/version")).json()
        out["health"] = (await client.get("/health")).status
        out["openapi"] = await (await client.get("/openapi.json")).json()
        out["bad_parse"] = (await client.post("/model/parse", params={"token": "s3cret"}, json={"x": 1})).status
        return out

    out = serve(agent, go, enable_api=True, token="s3cret")
    assert out["no_token"] == 401 and out["wrong"] == 401 and out["bad_parse"] == 400
    assert out["status"]["model_file"] == "m.tar.gz" and out["status"]["model_id"] == "m"
    assert out["parse"]["intent"] == {"name": "greet", "confidence": 1.0}
    events = [e["event"] for e in out["tracker"]["events"]]
    assert out["tracker"]["sender_id"] == "c1"
    assert events.count("user") == 2 and events[-1] == "user"  # the added message ran no action
    assert out["tracker"]["latest_message"]["intent"]["name"] == "goodbye"
    assert out["added"]["events"] == out["tracker"]["events"]
    assert out["version"]["version"] and out["health"] == 200
    paths = set(out["openapi"]["paths"])
    assert {"/model/parse", "/webhooks/rest/webhook", "/conversations/{conversation_id}/tracker"} <= paths
    assert "/webhooks/slack/webhook" not in paths  # only what this server serves


def test_api_routes_are_absent_without_enable_api(agent):
    async def go(client, runner):
        return (await client.post("/model/parse", json={"text": "hi"})).status

    assert serve(agent, go) == 404


def test_metrics_count_messages_intents_and_stage_latency(agent):
    def samples(text: str) -> dict[str, float]:
        return {
            line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }

    async def go(client, runner):
        before = samples(await (await client.get("/metrics")).text())
        await client.post("/webhooks/rest/webhook", json={"sender": "m1", "message": "/greet"})
        await client.post("/webhooks/rest/webhook", json={"sender": "m1", "message": "where is my order"})
        await client.post(
            "/webhooks/rest/webhook", json={"sender": "m2", "message": "/greet", "input_channel": "client-chosen-1234"}
        )
        resp = await client.get("/metrics")
        return resp.headers["Content-Type"], before, samples(await resp.text())

    ctype, before, after = serve(agent, go)
    assert ctype.startswith("text/plain")

    def grew(name: str) -> float:  # the registry is process-wide: compare with what other tests left
        return after.get(name, 0.0) - before.get(name, 0.0)

    assert grew('agent_messages_total{channel="rest"}') == 3
    assert not any("client-chosen" in name for name in after)  # a client cannot mint metric series
    assert grew('agent_intents_total{intent="greet"}') >= 1
    assert grew('agent_stage_seconds_count{stage="turn"}') == 3
    assert grew('agent_stage_seconds_count{stage="nlu"}') == 1  # the payload skipped the encoder pass


def test_sqlite_store_survives_a_restart(trained_shopbot, tmp_path):
    db = tmp_path / "conv.db"

    async def first():
        agent = Agent.load(trained_shopbot.path, store=SQLiteTrackerStore(db), seed=0)
        await agent.handle_text('/order_status{"order_id": "ORD-7"}', "keep")
        await agent.processor.store.close()

    async def second():
        store = SQLiteTrackerStore(db)
        agent = Agent.load(trained_shopbot.path, store=store, seed=0)
        tracker = await store.retrieve("keep", agent.domain)
        turn = await agent.handle_text("/greet", "keep")
        senders = await store.sender_ids()
        again = await store.retrieve("keep", agent.domain)
        await store.close()
        return tracker, turn, senders, again

    asyncio.run(first())
    tracker, turn, senders, again = asyncio.run(second())
    assert tracker.slots["order_id"] == "ORD-7"
    assert turn.slots["order_id"] == "ORD-7"  # the conversation went on where it stopped
    assert senders == ["keep"]
    assert [e.as_dict() for e in again.events[: len(tracker.events)]] == [e.as_dict() for e in tracker.events]
    assert len(again.events) == len(tracker.events) + len(turn.events)


def test_shutdown_waits_for_in_flight_turns(agent):
    async def go():
        runner = AgentRunner(agent)
        real = agent.processor.handle_message

        async def slow(message):
            await asyncio.sleep(0.3)
            return await real(message)

        agent.processor.handle_message = slow
        turn = asyncio.ensure_future(runner.submit(UserMessage("/greet", "s", "rest")))
        await asyncio.sleep(0.05)
        await runner.close()
        return turn.done(), turn.result()

    done, messages = asyncio.run(go())
    assert done and messages[0]["text"] == "Hello! How can I help?"


def test_credentials_skip_unknown_channels_and_report_bad_settings(tmp_path):
    path = tmp_path / "credentials.yml"
    path.write_text("rest:\nfacebook:\n  verify: x\nsocketio:\n  user_message_evt: u\n")
    channels, warnings = load_channels(path)
    assert [c.name for c in channels] == ["rest"]
    assert len(warnings) == 2 and f"{path}:2" in warnings[0] and "facebook" in warnings[0]
    path.write_text("rest:\nslack: just-a-token\n")
    with pytest.raises(AgentError) as err:
        load_channels(path)
    assert "credentials.yml:2" in str(err.value) and "slack" in str(err.value)


def test_endpoints_pick_the_tracker_store(tmp_path):
    path = tmp_path / "endpoints.yml"
    path.write_text(f"tracker_store:\n  type: SQL\n  dialect: sqlite\n  db: {tmp_path / 'x.db'}\n")
    store, where = build_store(load_endpoints(path))
    assert isinstance(store, SQLiteTrackerStore) and "x.db" in where
    asyncio.run(store.close())
    store, _ = build_store(Endpoints(), default_db=tmp_path / "default.db")
    assert isinstance(store, SQLiteTrackerStore) and (tmp_path / "default.db").exists()
    asyncio.run(store.close())
    path.write_text("action_endpoint:\n  url: http://x\ntracker_store:\n  type: mongod\n  url: localhost\n")
    with pytest.raises(AgentError) as err:
        build_store(load_endpoints(path))
    assert "endpoints.yml:4" in str(err.value) and "mongod" in str(err.value)


def test_sqlite_store_keeps_active_conversations_in_memory_but_never_unsaved_events(trained_shopbot, tmp_path):
    from agent.core.events import SlotSet

    async def go():
        store = SQLiteTrackerStore(tmp_path / "c.db")
        agent = Agent.load(trained_shopbot.path, store=store, seed=0)
        await agent.handle_text("/greet", "c")
        cached = await store.retrieve("c", agent.domain)
        cached.append(SlotSet("order_id", "NOT-SAVED"))  # a turn that fails before `save`
        reloaded = await store.retrieve("c", agent.domain)
        fresh = SQLiteTrackerStore(tmp_path / "c.db")
        from_disk = await fresh.retrieve("c", agent.domain)
        await store.close()
        await fresh.close()
        return cached, reloaded, from_disk

    cached, reloaded, from_disk = asyncio.run(go())
    assert reloaded is not cached and reloaded.slots["order_id"] is None
    assert [e.as_dict() for e in reloaded.events] == [e.as_dict() for e in from_disk.events]


def test_agent_run_serves_and_stops_cleanly(trained_shopbot, tmp_path):
    import signal
    import subprocess
    import sys
    import urllib.request

    from tests.helpers.processes import free_port, wait_until_healthy

    port = free_port()
    (tmp_path / "credentials.yml").write_text("rest:\ntelegram:\n  access_token: x\n")
    (tmp_path / "endpoints.yml").write_text(
        f"tracker_store:\n  type: sql\n  dialect: sqlite\n  db: {tmp_path / 'c.db'}\n"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent",
            "run",
            "--model",
            str(trained_shopbot.path),
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}/health", proc, "agent run", timeout=120)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/rest/webhook",
            data=json.dumps({"sender": "cli", "message": "/greet"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        reply = json.loads(urllib.request.urlopen(request, timeout=30).read())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert reply[0]["recipient_id"] == "cli" and reply[0]["text"] == "Hello! How can I help?"
    assert proc.returncode == 0
    assert "telegram" in err and "skipped" in err  # Rasa channels we lack: one warning, not a failure
    assert (tmp_path / "c.db").exists()
