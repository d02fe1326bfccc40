"""Dialogue figures: policy training time, decision latency vs conversation length, peer test suites.

python benchmarks/dialogue.py                 # timing only (seconds)
python benchmarks/dialogue.py --suites        # also train each bot and run `agent test` (minutes)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
EXAMPLES = REPO.parent / "shared" / "benchmarks" / "rasa_examples"


def policy_timing(bot_dir: Path) -> dict:
    from agent.bot.project import load_bot
    from agent.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from agent.core.policies.ensemble import PolicyEnsemble
    from agent.core.policies.learned import LearnedPolicy
    from agent.core.policies.memoization import MemoizationPolicy
    from agent.core.policies.rule import RulePolicy
    from agent.core.tracker import Tracker
    from agent.core.training_data import TrainingData

    bot = load_bot(bot_dir)
    started = time.perf_counter()
    data = TrainingData.compile(bot.stories, bot.rules, bot.domain)
    rule, memo = RulePolicy(), MemoizationPolicy(bot.config.policy.max_history, augmented=True)
    rule.train(data)
    memo.train(data)
    learned = LearnedPolicy(bot.config.policy.max_history, bot.config.policy.ted_epochs)
    learned.train(data)
    train_seconds = time.perf_counter() - started
    ensemble = PolicyEnsemble([rule, memo, learned], bot.config.policy)

    def tracker_with(turns: int) -> Tracker:
        t = Tracker(
            "bench",
            bot.domain,
            [ActionExecuted(name="action_session_start"), SessionStarted(), ActionExecuted(name="action_listen")],
        )
        intents = ["greet", "check_balance", "thankyou"]
        actions = ["utter_greet", "action_show_balance", "utter_noworries"]
        for i in range(turns):
            k = i % 3
            t.extend(
                [
                    UserUttered(
                        text="x", parse_data={"intent": {"name": intents[k], "confidence": 1.0}, "entities": []}
                    ),
                    SlotSet(name="account_type", value="credit" if i % 2 else "bank"),
                    ActionExecuted(name=actions[k]),
                    ActionExecuted(name="action_listen"),
                ]
            )
        t.append(
            UserUttered(text="x", parse_data={"intent": {"name": "check_balance", "confidence": 1.0}, "entities": []})
        )
        return t

    def timed(t: Tracker) -> float:
        s = time.perf_counter()
        ensemble.predict(t, bot.domain)
        return (time.perf_counter() - s) * 1000

    trackers = tracker_with(1), tracker_with(500), tracker_with(10)
    for t in trackers:
        for _ in range(20):
            timed(t)
    samples: tuple[list[float], ...] = ([], [], [])
    for _ in range(500):  # alternate, so drift on a shared machine hits both alike
        for t, out in zip(trackers, samples):
            out.append(timed(t))
    short, long_, ten = (statistics.median(s) for s in samples)
    return {
        "bot": bot.name,
        "rules": len(rule.rules),
        "memorized_states": len(memo.memory),
        "policy_training_seconds (rules, memoization, learned)": round(train_seconds, 2),
        "decision_ms_turn_1": round(short, 3),
        "decision_ms_turn_10": round(ten, 3),
        "decision_ms_turn_500": round(long_, 3),
        "ratio_500_vs_1": round(long_ / short, 2),
        "ratio_500_vs_10": round(long_ / ten, 2),
    }


def train(name: str, bot_dir: Path, out: Path) -> float:
    t = time.time()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "train",
            str(bot_dir),
            "--out",
            str(out / "models"),
            "--fixed-model-name",
            name,
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    return time.time() - t


def run_suite(name: str, bot_dir: Path, stories: Path, mode: str, out: Path, train_s: float) -> dict:
    model_dir = out / "models"
    results = out / f"results-{name}-{mode}"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "agent",
            "test",
            mode,
            str(bot_dir),
            "--model",
            str(model_dir / f"{name}.tar.gz"),
            "--stories",
            str(stories),
            "--out",
            str(results),
        ],
        check=True,
        capture_output=True,
        cwd=REPO,
    )
    report = json.loads((results / "story_report.json").read_text())
    conv = report["conversation_accuracy"]
    return {
        "bot": name,
        "mode": mode,
        "stories": f"{conv['correct']}/{conv['total']}",
        "action_accuracy": round(report["accuracy"], 4)
        if "accuracy" in report
        else round(report["micro avg"]["f1-score"], 4),
        "train_seconds": round(train_s, 1),
        "intent_accuracy": report.get("intent_accuracy", {}).get("accuracy"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--suites", action="store_true")
    parser.add_argument("--no-timing", action="store_true", help="skip the policy cost measurement")
    parser.add_argument("--only", nargs="*", help="suite names to run (default: all)")
    args = parser.parse_args()
    if not args.no_timing:
        print(json.dumps(policy_timing(EXAMPLES / "financial-demo")))
    if args.suites:
        suites = [
            ("moodbot", EXAMPLES / "moodbot", EXAMPLES / "moodbot" / "tests"),
            ("financial-demo", EXAMPLES / "financial-demo", EXAMPLES / "financial-demo" / "tests"),
            ("helpdesk-assistant", EXAMPLES / "helpdesk-assistant", EXAMPLES / "helpdesk-assistant" / "tests"),
            ("ecommerce", REPO / "domains" / "ecommerce", REPO / "stories" / "ecommerce"),
            ("ecommerce_zh", REPO / "domains" / "ecommerce_zh", REPO / "stories" / "ecommerce_zh"),
        ]
        suites = [s for s in suites if not args.only or s[0] in args.only]
        with tempfile.TemporaryDirectory() as tmp:
            for name, bot, stories in suites:
                seconds = train(name, bot, Path(tmp))
                for mode in ("core", "e2e"):
                    print(json.dumps(run_suite(name, bot, stories, mode, Path(tmp), seconds)), flush=True)


if __name__ == "__main__":
    main()
