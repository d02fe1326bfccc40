"""Does the bot hand angry customers to a person in time, and leave calm ones alone?

    python benchmarks/frustration_benchmark.py domains/ecommerce --model models/ecommerce.tar.gz
    python benchmarks/frustration_benchmark.py domains/ecommerce_zh --model models/ecommerce_zh.tar.gz

The trained bot (its NLU, SentimentAnalyzer and frustration threshold from config.yml) chats through
`benchmarks/data/frustration/<bot>/angry_conversations.yml` (20 written angry customers, the first angry message marked),
`calm_conversations.yml` (20 calm ones) and the bot's happy-path `test_conversations.yml`. Escalated in
time: a handoff at the marked message or within the 2 customer messages after it. False escalation: any
frustration handoff in a calm or happy-path conversation. Prints one JSON line; with --detail, each
angry conversation's frustration scores turn by turn.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WITHIN_TURNS = 2


def load_conversations(path: Path) -> list[dict]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]


def happy_paths(bot_name: str) -> list[dict]:
    """The user texts of the bot's test conversations, as conversations of turns."""
    from agent.bot.nlu_data import parse_annotated
    from agent.bot.project import load_test_stories
    from agent.bot.stories import UserStep

    out = []
    for story in load_test_stories(REPO / "stories" / bot_name):
        texts = [parse_annotated(s.text)[0] for s in story.steps if isinstance(s, UserStep) and s.text]
        out.append({"name": story.name, "turns": [{"text": t} for t in texts]})
    return out


async def chat(agent, name: str, turns: list[dict]) -> tuple[int | None, list[float], str | None]:
    """The customer turn (0-based) at which a handoff happened (None: never), the frustration score
    after each turn, and the handoff's reason."""
    scores = []
    for k, turn in enumerate(turns):
        result = await agent.handle_text(turn["text"], f"bench: {name}", channel="bench")
        scores.append(round(float(result.slots.get("frustration") or 0.0), 2))
        if result.handoff.get("status") in ("queued", "human"):
            return k, scores, result.handoff.get("reason")
    return None, scores, None


async def run(bot_dir: Path, model: str, detail: bool) -> dict:
    from agent.runtime import Agent
    from agent.stores.base import InMemoryTrackerStore

    agent = Agent.load(model, store=InMemoryTrackerStore(), seed=0)
    stories = REPO / "benchmarks" / "data" / "frustration" / bot_dir.name
    angry = load_conversations(stories / "angry_conversations.yml")
    in_time, late, never, rows = 0, [], [], []
    for conv in angry:
        mark = next(k for k, t in enumerate(conv["turns"]) if t.get("angry"))
        at, scores, reason = await chat(agent, conv["name"], conv["turns"])
        rows.append({"name": conv["name"], "angry_at": mark, "handoff_at": at, "reason": reason, "scores": scores})
        if at is not None and mark <= at <= mark + WITHIN_TURNS:
            in_time += 1
        elif at is None:
            never.append(conv["name"])
        else:
            late.append(conv["name"])
    false, calm_peaks = [], []
    for kind, convs in (
        ("calm", load_conversations(stories / "calm_conversations.yml")),
        ("happy", happy_paths(bot_dir.name)),
    ):
        for conv in convs:
            at, scores, reason = await chat(agent, f"{kind}: {conv['name']}", conv["turns"])
            calm_peaks.append(max(scores, default=0.0))
            if at is not None and reason == "frustration":
                false.append(f"{kind}: {conv['name']}")
    out = {
        "bot": bot_dir.name,
        "angry_escalated_in_time": f"{in_time}/{len(angry)}",
        "angry_escalated_early_or_late": late,
        "angry_never_escalated": never,
        "false_escalations": false,
        "calm_and_happy_conversations": len(load_conversations(stories / "calm_conversations.yml"))
        + len(happy_paths(bot_dir.name)),
    }
    out["highest_frustration_in_a_calm_or_happy_conversation"] = max(calm_peaks, default=0.0)
    if detail:
        out["angry"] = rows
        out["calm_and_happy_peaks"] = sorted(calm_peaks, reverse=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bot")
    parser.add_argument("--model", required=True)
    parser.add_argument("--detail", action="store_true")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(Path(args.bot), args.model, args.detail)), ensure_ascii=False))


if __name__ == "__main__":
    main()
