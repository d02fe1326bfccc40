"""Foundation figures: train wall time, held-out intent accuracy, artifact size, shell time to first reply.

    python benchmarks/foundation.py [--bot domains/ecommerce] [--skip-train-timing]

Prints one line per figure; copy them into docs/benchmarks.md with the date.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def time_train(bot: str, out: Path) -> tuple[float, Path, int]:
    """Wall time of `agent train BOT` as a user runs it (process start to exit)."""
    started = time.time()
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "train", bot, "--out", str(out), "--fixed-model-name", "bench"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    wall = time.time() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    path = out / "bench.tar.gz"
    return wall, path, path.stat().st_size


def time_first_reply(model: Path, text: str = "hello") -> float:
    """Seconds from launching `agent shell` to its first bot line on stdout."""
    env = {**os.environ, "COLUMNS": "200"}
    started = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "shell", "--model", str(model)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )
    proc.stdin.write(text + "\n")
    proc.stdin.flush()
    elapsed = None
    for line in proc.stdout:
        if line.startswith("bot:"):
            elapsed = time.time() - started
            break
    proc.stdin.close()
    proc.wait()
    return elapsed if elapsed is not None else float("nan")


def heldout_accuracy(bot_dir: str, fraction: float = 0.2, seed: int = 0) -> dict:
    """Stratified 20 % of every intent held out; train on the rest exactly as `agent train` does."""
    from agent.bot.project import load_bot
    from agent.nlu.interpreter import NLUInterpreter
    from agent.nlu.training import stratified_split, train_nlu

    bot = load_bot(bot_dir)
    texts = [e.text for e in bot.nlu.examples]
    labels = [e.intent for e in bot.nlu.examples]
    train_idx, test_idx = stratified_split(texts, labels, fraction, seed, min_total=0)
    result = train_nlu([bot.nlu.examples[i] for i in train_idx], bot.config.intent)
    interpreter = NLUInterpreter(result.classifier, bot.config.fallback)
    correct = fallback = 0
    started = time.time()
    for i in test_idx:
        parsed = interpreter.parse(texts[i])
        name = parsed["intent"]["name"]
        fallback += name == "nlu_fallback"
        top = parsed["intent_ranking"][1]["name"] if name == "nlu_fallback" else name
        correct += top == labels[i].split("/")[0]
    per_message_ms = (time.time() - started) / len(test_idx) * 1000
    return {
        "heldout_examples": len(test_idx),
        "train_examples": len(train_idx),
        "accuracy": correct / len(test_idx),
        "fallback_rate": fallback / len(test_idx),
        "train_seconds": round(result.seconds, 1),
        "epochs": len(result.history),
        "parse_ms_per_message": round(per_message_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bot", default="domains/ecommerce")
    parser.add_argument("--skip-train-timing", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_train_timing:
            wall, model, size = time_train(args.bot, Path(tmp))
            print(f"agent train {args.bot}: wall time {wall:.1f} s")
            print(f"model artifact size: {size / 1e6:.1f} MB")
            print(f"agent shell start to first reply: {time_first_reply(model):.1f} s")
        held = heldout_accuracy(args.bot)
        print(
            f"intent accuracy on a stratified 20 % held out: {held['accuracy']:.3f} "
            f"({held['heldout_examples']} examples; top intent, counting fallbacks by their best guess)"
        )
        print("details: " + json.dumps(held))


if __name__ == "__main__":
    main()
