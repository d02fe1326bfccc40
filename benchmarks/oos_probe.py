"""Does an example bot fall back on what it does not handle, and still understand what it does?

    python benchmarks/oos_probe.py domains/ecommerce [--model models/ecommerce.tar.gz]

Trains the bot (unless --model is given), then parses two sets with the served model (NLU, FAQ and
fallback as `agent run` decides them):
- 200 probes in the bot's language: the 100 other-domain messages of
  benchmarks/data/oos_probe/other_domain_<lang>.txt (written for evaluation only, on topics the
  shipped negatives in agent/nlu/negatives/ do not cover) and 100 generated here by generators that
  training does not use (keyboard walks, random letters and digits, lorem ipsum, punctuation, random
  Chinese characters for a Chinese bot). A probe counts as handled when it ends as nlu_fallback or
  out_of_scope.
- held-out paraphrases (benchmarks/data/example_bots/<bot>_heldout.jsonl, not in the bot's data):
  the share whose intent is right (a fallback counts as wrong).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import string
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO / "benchmarks" / "data"
PROBES = 200
HANDLED = {"nlu_fallback", "out_of_scope"}
LOREM = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore".split()
KEYBOARD_COLUMNS = ["qaz", "wsx", "edc", "rfv", "tgb", "yhn", "ujm", "ik", "ol", "p"]


def keyboard_walk(rng: random.Random) -> str:
    start = rng.randrange(len(KEYBOARD_COLUMNS) - 2)
    return "".join(KEYBOARD_COLUMNS[start + i] for i in range(rng.randint(2, 3)))


def letters_and_digits(rng: random.Random) -> str:
    alphabet = string.ascii_lowercase + string.digits
    return " ".join("".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(1, 3)))


def lorem(rng: random.Random) -> str:
    return " ".join(rng.sample(LOREM, rng.randint(2, 6)))


def punctuation(rng: random.Random) -> str:
    return "".join(rng.choice("?!.,;:-~*#") for _ in range(rng.randint(2, 6)))


def hanzi(rng: random.Random) -> str:
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(rng.randint(3, 10)))


def generated_probes(language: str, count: int, seed: int = 2026) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    makers = [keyboard_walk, letters_and_digits, lorem, punctuation]
    if language == "zh":
        makers += [hanzi, hanzi]
    out: dict[str, str] = {}
    while len(out) < count:
        maker = rng.choice(makers)
        out.setdefault(maker(rng), maker.__name__)
    return [(text, kind) for text, kind in out.items()]


def probes(language: str) -> list[tuple[str, str]]:
    lines = (DATA / "oos_probe" / f"other_domain_{language}.txt").read_text(encoding="utf-8").splitlines()
    written = [(line, "other_domain") for line in lines if line.strip() and not line.startswith("#")]
    return written[: PROBES // 2] + generated_probes(language, PROBES - len(written[: PROBES // 2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bot", help="bot folder, e.g. domains/ecommerce")
    parser.add_argument("--model", help="a trained model (.tar.gz); default: train the bot first")
    parser.add_argument("--seed", type=int, help="training seed (default: the bot's config)")
    args = parser.parse_args()

    from agent.runtime import Agent
    from agent.train import train_bot

    bot = Path(args.bot)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.model) if args.model else train_bot(bot, tmp, fixed_name=bot.name, seed=args.seed).path
        agent = Agent.load(path)
        language = agent.config.language
        probe = probes(language)
        parsed = agent.interpreter.parse_batch([t for t, _ in probe])
        heldout_file = DATA / "example_bots" / f"{bot.name}_heldout.jsonl"
        heldout = [json.loads(line) for line in heldout_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        answers = agent.interpreter.parse_batch([h["text"] for h in heldout])
        metrics = agent.artifact.read_json("metrics.json")

    by_kind: dict[str, list[bool]] = {}
    for (_, kind), p in zip(probe, parsed):
        by_kind.setdefault(kind, []).append(p["intent"]["name"] in HANDLED)
    handled = [h for v in by_kind.values() for h in v]
    missed = [text for (text, _), p in zip(probe, parsed) if p["intent"]["name"] not in HANDLED]
    right = [a["intent"]["name"] == h["intent"] for h, a in zip(heldout, answers)]
    print(
        json.dumps(
            {
                "bot": bot.name,
                "seed": args.seed,
                "language": language,
                "probes": len(handled),
                "probes_falling_back": round(sum(handled) / len(handled), 4),
                "by_kind": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_kind.items())},
                "probes_as": dict(Counter(p["intent"]["name"] for p in parsed).most_common(5)),
                "heldout_paraphrases": len(right),
                "heldout_accuracy": round(sum(right) / len(right), 4) if right else None,
                "heldout_falling_back": round(
                    sum(a["intent"]["name"] in HANDLED for a in answers) / max(1, len(answers)), 4
                ),
                "thresholds": metrics.get("thresholds"),
                "calibration": metrics.get("calibration"),
                "negatives": metrics.get("negatives"),
                "missed_examples": missed[:10],
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
