"""Human handoff over loopback: how fast a handoff reaches the agent desk's stream, and an agent's
message the customer's stream; who wins an accept race; whether the bot answers after release.

    python benchmarks/handoff_benchmark.py domains/ecommerce --conversations 50 --messages 10

The bot runs with its rules and button payloads (`/talk_to_human`), not its NLU model: these figures
are the serving path of a handoff (store, lock, event fan-out, HTTP), which the model does not touch.
Server and client share one event loop and the machine's cores. Prints one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TOKEN, AGENT = "bench-token", "alice"


def rule_only_agent(bot_dir: Path):
    """The bot's domain, rules and responses with a payload parser: what a handoff exercises."""
    from types import SimpleNamespace

    from agent.bot.handoff_settings import HandoffSettings
    from agent.bot.project import load_bot
    from agent.core.actions.registry import ActionRegistry
    from agent.core.nlg import ResponseGenerator
    from agent.core.policies.ensemble import PolicyEnsemble
    from agent.core.policies.rule import RulePolicy
    from agent.core.processor import MessageProcessor
    from agent.core.training_data import TrainingData
    from agent.nlu.payload import parse_payload
    from agent.stores.base import InMemoryTrackerStore

    bot = load_bot(bot_dir)
    rules = RulePolicy()
    rules.train(TrainingData.compile(bot.stories, bot.rules, bot.domain))
    settings = HandoffSettings(agents={TOKEN: AGENT})

    def parse_batch(texts, previous):
        return [parse_payload(t) or {"text": t, "intent": {"name": "nlu_fallback", "confidence": 0.0}} for t in texts]

    async def parse(text, previous=None):
        return parse_batch([text], [previous])[0]

    processor = MessageProcessor(
        bot.domain,
        parse,
        PolicyEnsemble([rules], bot.config.policy),
        InMemoryTrackerStore(),
        ResponseGenerator(bot.domain, random.Random(0)),
        ActionRegistry(bot.domain, handoff=settings),
        settings,
    )
    interpreter = SimpleNamespace(parse_batch=parse_batch, shortcut=lambda text: None)
    return SimpleNamespace(processor=processor, interpreter=interpreter, domain=bot.domain)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


async def next_data(stream) -> dict:
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
        if line.startswith("data: "):
            return json.loads(line[6:])


async def run(bot_dir: Path, conversations: int, messages: int) -> dict:
    from agent.channels.rest import RestChannel
    from agent.server.app import build_app
    from agent.server.runner import AgentRunner

    runner = AgentRunner(rule_only_agent(bot_dir))
    app = build_app(runner, [RestChannel()])
    auth = {"Authorization": f"Bearer {TOKEN}"}
    to_desk, to_customer, back_ok = [], [], 0
    async with TestClient(TestServer(app)) as client:
        desk = await client.get("/handoffs/stream", headers=auth)
        await desk.content.readline()
        for i in range(conversations):
            sender = f"bench-{i}"
            started = time.perf_counter()
            await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "/talk_to_human"})
            while (item := await next_data(desk))["type"] != "handoff.requested" or item["conversation_id"] != sender:
                pass
            to_desk.append(time.perf_counter() - started)
            await client.post(f"/handoffs/{sender}/accept", headers=auth)
            customer = await client.get("/webhooks/rest/stream", params={"sender": sender})
            await customer.content.readline()
            for k in range(messages):
                started = time.perf_counter()
                await client.post(f"/handoffs/{sender}/messages", json={"text": f"reply {k}"}, headers=auth)
                received = await next_data(customer)
                to_customer.append(time.perf_counter() - started)
                assert received["text"] == f"reply {k}", received
            customer.close()
            await client.post(f"/handoffs/{sender}/release", json={"to": "bot"}, headers=auth)
            reply = await (
                await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": "/greet"})
            ).json()
            back_ok += bool(reply)
        desk.close()
        await client.post("/webhooks/rest/webhook", json={"sender": "race", "message": "/talk_to_human"})
        accepts = await asyncio.gather(*(client.post("/handoffs/race/accept", headers=auth) for _ in range(50)))
        winners = sum(r.status == 200 for r in accepts)
    return {
        "conversations": conversations,
        "agent_messages": len(to_customer),
        "handoff_to_desk_stream_ms": {"p50": pct(to_desk, 0.5), "p99": pct(to_desk, 0.99)},
        "agent_api_to_customer_stream_ms": {
            "p50": pct(to_customer, 0.5),
            "p99": pct(to_customer, 0.99),
            "mean": round(statistics.mean(to_customer) * 1000, 2),
        },
        "accept_race_winners_of_50": winners,
        "bot_answers_first_message_after_release": f"{back_ok}/{conversations}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bot", nargs="?", default=str(REPO / "domains" / "ecommerce"))
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10, help="agent messages per conversation")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(Path(args.bot), args.conversations, args.messages))))


if __name__ == "__main__":
    main()
