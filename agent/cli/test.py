"""`agent test [core|e2e] BOT_DIR`: run test conversations and write Rasa's report files."""
from __future__ import annotations

import asyncio
from pathlib import Path

from rich.table import Table

from agent.bot.project import load_test_stories
from agent.cli.output import console
from agent.errors import AgentError
from agent.model.artifact import SUFFIX


def find_stories(bot_dir: Path, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    name = bot_dir.resolve().name
    for candidate in (bot_dir / "tests", Path("stories") / name, bot_dir.resolve().parents[1] / "stories" / name):
        if candidate.is_dir():
            return candidate
    raise AgentError(f"no test stories for '{bot_dir}': looked in {bot_dir}/tests and stories/{name}/; "
                     "give --stories PATH")


def find_model(bot_dir: Path, explicit: str | None, models_dir: str) -> Path:
    if explicit:
        return Path(explicit)
    name = bot_dir.resolve().name
    folder = Path(models_dir)
    candidates = sorted(folder.glob(f"{name}-*{SUFFIX}"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not candidates:
        raise AgentError(f"no trained model of '{name}' in {folder}/; run `agent train {bot_dir}` or give --model")
    return candidates[-1]


def run_test(args) -> int:
    from agent.evaluation.reports import write_reports
    from agent.evaluation.stories import evaluate_story
    from agent.runtime import Agent

    bot_dir = Path(args.bot)
    stories_path = find_stories(bot_dir, args.stories)
    stories = load_test_stories(stories_path)
    model = find_model(bot_dir, args.model, args.models_dir)
    agent = Agent.load(model, seed=0)
    e2e = args.mode != "core"

    async def run_all():
        return [await evaluate_story(agent, s, e2e) for s in stories]

    results = asyncio.run(run_all())
    out = Path(args.out)
    report = write_reports(results, out, args.successes)
    conv = report["conversation_accuracy"]
    actions = [s for r in results for s in r.steps if s.kind == "action"]
    action_acc = sum(s.correct for s in actions) / len(actions) if actions else 0.0
    table = Table(title=f"{args.mode} test of {model.name} on {stories_path}", show_header=False)
    table.add_row("stories passed", f"{conv['correct']} / {conv['total']} ({conv['accuracy']:.1%})")
    table.add_row("action accuracy", f"{action_acc:.1%} of {len(actions)} predictions")
    if "intent_accuracy" in report:
        ia = report["intent_accuracy"]
        table.add_row("intent accuracy (user text)", f"{ia['accuracy']:.1%} of {ia['total']}")
    table.add_row("reports", str(out))
    console.print(table)
    for r in results:
        if not r.passed:
            wrong = "; ".join(f"{s.expected} → {s.predicted}" for s in r.steps if not s.correct)
            console.print(f"[red]failed[/red] {r.story.file}:{r.story.line} {r.story.name}: {wrong}",
                          soft_wrap=True, markup=True)
    if args.fail_on_prediction_errors and conv["correct"] < conv["total"]:
        return 1
    return 0
