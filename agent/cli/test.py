"""`agent test [core|e2e] BOT_DIR`: run test conversations and write Rasa's report files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from rich.table import Table

from agent.bot.project import load_test_stories
from agent.cli.output import console
from agent.errors import Errors
from agent.model.artifact import SUFFIX


def find_stories(bot_dir: Path, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    name = bot_dir.resolve().name
    for candidate in (bot_dir / "tests", Path("stories") / name, bot_dir.resolve().parents[1] / "stories" / name):
        if candidate.is_dir():
            return candidate
    raise Errors.NO_TEST_STORIES.error(bot=bot_dir, name=name)


def find_model(bot_dir: Path, explicit: str | None, models_dir: str) -> Path:
    if explicit:
        return Path(explicit)
    name = bot_dir.resolve().name
    folder = Path(models_dir)
    candidates = sorted(folder.glob(f"{name}-*{SUFFIX}"), key=lambda p: p.stat().st_mtime) if folder.is_dir() else []
    if not candidates:
        raise Errors.NO_TRAINED_MODEL_OF_BOT.error(name=name, folder=folder, bot=bot_dir)
    return candidates[-1]


MODES = ("core", "e2e", "nlu")


def _split_target(args) -> None:
    """`agent test [core|e2e|nlu] [BOT_DIR]`: an optional mode, then an optional bot."""
    target = list(args.target)
    args.mode = target.pop(0) if target and target[0] in MODES else "e2e"
    if len(target) > 1:
        raise Errors.TEST_TAKES_ONE_BOT.error(given=" ".join(target))
    args.bot = target[0] if target else None


def run_test(args) -> int:
    _split_target(args)
    if args.mode == "nlu":
        return run_test_nlu(args)
    if not args.bot:
        raise Errors.TEST_NEEDS_BOT.error()
    from agent.evaluation.reports import write_reports
    from agent.evaluation.stories import evaluate_stories
    from agent.runtime import Agent

    bot_dir = Path(args.bot)
    stories_path = find_stories(bot_dir, args.stories)
    stories = load_test_stories(stories_path)
    model = find_model(bot_dir, args.model, args.models_dir)
    agent = Agent.load(model, seed=0)
    e2e = args.mode != "core"

    async def run_all():
        return await evaluate_stories(agent, stories, e2e)

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
    if "sentiment_accuracy" in report:  # e2e stories that say how the customer sounded
        sa = report["sentiment_accuracy"]
        table.add_row("sentiment heard as the stories say", f"{sa['accuracy']:.1%} of {sa['total']}")
    table.add_row("reports", str(out))
    console.print(table)
    for r in results:
        if not r.passed:
            wrong = "; ".join(f"{s.expected} → {s.predicted}" for s in r.steps if not s.correct)
            console.print(
                f"[red]failed[/red] {r.story.file}:{r.story.line} {r.story.name}: {wrong}", soft_wrap=True, markup=True
            )
    if args.fail_on_prediction_errors and conv["correct"] < conv["total"]:
        return 1
    return 0


def _nlu_examples(path: Path):
    from agent.bot.nlu_data import parse_nlu
    from agent.bot.schema import Reader, key_line
    from agent.bot.sentiment_data import parse_sentiment
    from agent.bot.yaml_source import read_yaml
    from agent.errors import Problems
    from agent.evaluation.nlu import load_jsonl

    if path.suffix == ".jsonl":
        return load_jsonl(path), []
    problems = Problems()
    raw = read_yaml(path) or {}
    reader = Reader(str(path), problems)
    examples = parse_nlu(raw.get("nlu"), reader, None).examples
    sentiment = parse_sentiment(raw["sentiment"], reader, key_line(raw, "sentiment")) if "sentiment" in raw else []
    problems.raise_if_errors()
    return examples, sentiment


def run_test_nlu(args) -> int:
    from agent.evaluation.nlu import calibration_error, predict_all, sentiment_report, write_nlu_reports

    out = Path(args.out)
    threshold, sentiment, moods = None, None, []
    if args.cross_validation:
        if not args.bot:
            raise Errors.CROSS_VALIDATION_NEEDS_BOT.error()
        predictions = _cross_validate(Path(args.bot), args.folds)
        source = f"{args.folds}-fold cross-validation of {args.bot}"
    else:
        from agent.runtime import Agent

        if args.data:
            (examples, moods), source = _nlu_examples(Path(args.data)), args.data
        elif args.bot:
            from agent.bot.project import load_bot

            examples, source = load_bot(args.bot).nlu.examples, f"{args.bot} (its training data)"
            console.print(
                "[yellow]note:[/yellow] testing on the training data says little; "
                "use --data held_out.yml or --cross-validation"
            )
        else:
            raise Errors.TEST_NLU_NEEDS_DATA.error()
        model = find_model(Path(args.bot), args.model, args.models_dir) if args.bot else args.model
        if model is None:
            raise Errors.TEST_NEEDS_MODEL.error()
        interpreter = Agent.load(model).interpreter
        threshold = interpreter.fallback.threshold
        predictions = predict_all(interpreter, examples)
        if moods and interpreter.sentiment is not None:
            sentiment = sentiment_report(interpreter, moods)
    report = write_nlu_reports(predictions, out, threshold)
    if sentiment is not None:
        (out / "sentiment_report.json").write_text(json.dumps(sentiment, indent=2), encoding="utf-8")
    table = Table(title=f"NLU test on {source}", show_header=False)
    table.add_row("intent accuracy", f"{report['accuracy']:.3f} of {len(predictions)}")
    table.add_row(
        "macro F1 / weighted F1", f"{report['macro avg']['f1-score']:.3f} / {report['weighted avg']['f1-score']:.3f}"
    )
    table.add_row("errors", f"{sum(p.predicted != p.intent for p in predictions)} (intent_errors.json)")
    ece = calibration_error(predictions)
    if ece is not None:
        table.add_row("expected calibration error", f"{ece:.3f} (top in-scope intent)")
    if (out / "oos_threshold_curve.png").is_file():
        from agent.nlu.thresholds import OUT_OF_SCOPE

        oos = [p for p in predictions if p.intent == OUT_OF_SCOPE]
        table.add_row(
            "out-of-scope recall",
            f"{sum(p.predicted == OUT_OF_SCOPE for p in oos) / len(oos):.3f} of {len(oos)} (oos_threshold_curve.png)",
        )
    if sentiment is not None:
        negative = sentiment.get("negative", {})
        table.add_row(
            "sentiment accuracy / macro F1",
            f"{sentiment['accuracy']:.3f} / {sentiment['macro avg']['f1-score']:.3f} of {len(moods)} "
            "(sentiment_report.json)",
        )
        table.add_row(
            "negative precision / recall",
            f"{negative.get('precision', 0.0):.3f} / {negative.get('recall', 0.0):.3f}",
        )
    elif moods:
        table.add_row("sentiment", f"{len(moods)} labelled messages, but the model has no SentimentAnalyzer")
    table.add_row("reports", str(out))
    console.print(table)
    return 0


def _cross_validate(bot_dir: Path, folds: int):
    """Stratified K folds: each fold trained as `agent train` would, tested on what it did not see."""
    import random
    from collections import defaultdict

    from agent.bot.project import load_bot
    from agent.evaluation.nlu import predict_all
    from agent.nlu.interpreter import NLUInterpreter
    from agent.nlu.training import train_nlu
    from agent.train import entity_settings

    bot = load_bot(bot_dir)
    by_intent = defaultdict(list)
    for ex in bot.nlu.examples:
        by_intent[ex.intent].append(ex)
    rng = random.Random(bot.config.intent.random_seed)
    fold_of = {}
    for intent in sorted(by_intent):
        items = by_intent[intent][:]
        rng.shuffle(items)
        for k, ex in enumerate(items):
            fold_of[id(ex)] = k % folds
    entities = entity_settings(bot)
    predictions = []
    for k in range(folds):
        train = [e for e in bot.nlu.examples if fold_of[id(e)] != k]
        test = [e for e in bot.nlu.examples if fold_of[id(e)] == k]
        console.print(f"fold {k + 1}/{folds}: training on {len(train)}, testing on {len(test)}")
        result = train_nlu(train, bot.config.intent)
        interpreter = NLUInterpreter.build(result.classifier, bot.config, entities)
        predictions += predict_all(interpreter, test)
    return predictions
