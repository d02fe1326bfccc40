"""`agent train BOT_DIR`."""

from __future__ import annotations

from rich.table import Table

from agent.bot.project import load_bot
from agent.cli.output import RichReporter, console, print_problem
from agent.errors import Problems


def run_train(args) -> int:
    from agent.train import train_bot

    problems = Problems()
    bot = load_bot(args.bot, problems)  # raises with every error listed
    for p in problems.warnings:
        print_problem(p)
    console.print(
        f"training [bold]{bot.name}[/bold]: {len(bot.nlu.examples)} examples, "
        f"{len(set(e.intent for e in bot.nlu.examples))} intents, {len(bot.rules)} rules, "
        f"{len(bot.stories)} stories"
    )
    for note in bot.config.notes:
        console.print(f"  [dim]{note}[/dim]")
    outcome = train_bot(args.bot, args.out, args.base_model, RichReporter(), args.fixed_model_name, args.epochs)
    r = outcome.result
    for p in r.entity_problems + r.problems:
        print_problem(p)
    table = Table(title="training summary", show_header=False)
    table.add_row("model", str(outcome.path))
    table.add_row("size", f"{outcome.path.stat().st_size / 1e6:.1f} MB")
    table.add_row("train / validation examples", f"{r.train_size} / {r.val_size}")
    if r.val_accuracy is not None:
        table.add_row(
            "validation accuracy",
            f"{r.val_accuracy:.3f} (epoch {r.best_epoch}; {r.initial_val_accuracy:.3f} before fine-tuning)",
        )
    table.add_row("epochs run", str(len(r.history)))
    if r.calibration:
        c = r.calibration
        table.add_row(
            "calibration",
            f"expected calibration error {c['ece_before']:.3f} ± {c['ece_before_se']:.3f} → "
            f"{c['ece_after']:.3f} ± {c['ece_after_se']:.3f} on validation, {c['ece_method']}; "
            + (
                f"temperatures {c['temperature']:.2f} (classifier) and {c['mix_temperature']:.2f} (what is served)"
                if c["calibrated"]
                else "not calibrated (it did not help on validation)"
            ),
        )
        mix = c.get("knn_mix")
        table.add_row(
            "neighbour vote",
            f"{mix['weight']:.0%} of the {mix['k']} nearest training examples' vote mixed in (it helped on validation)"
            if mix
            else "not used (it did not help on validation)",
        )
        weight = c.get("sparse_weight")
        table.add_row(
            "character n-grams",
            f"{weight:.0%} of a TF-IDF character n-gram model mixed in (it helped on validation)"
            if weight
            else "not used (it did not help on validation)",
        )
    fallback = outcome.bot.config.fallback
    if fallback.from_config or r.thresholds is None:
        table.add_row(
            "fallback thresholds",
            f"{fallback.threshold} / ambiguity {fallback.ambiguity_threshold} "
            f"({'config.yml' if fallback.from_config else 'defaults: no validation slice'})",
        )
    else:
        t = r.thresholds
        loss = (
            f"; at most {t.in_scope_loss_upper:.1%} of in-scope answers lost (95 % bound)"
            if t.in_scope_loss_upper is not None
            else ""
        )
        caught = f"; {t.oos_recall:.0%} of held-out out-of-scope messages caught" if t.oos_recall is not None else ""
        table.add_row(
            "fallback thresholds",
            f"{t.fallback:.3f} / ambiguity {t.ambiguity:.2f} ({t.source}; rule: {t.rule}{loss}{caught})",
        )
    if r.negatives:
        n = r.negatives
        table.add_row(
            "out-of-scope negatives",
            f"{n['trained']} trained as out_of_scope, {n['held_out']} held out for the thresholds "
            f"(of {n['shipped']} shipped and {n['generated']} generated; {n['dropped_near_training']} "
            "dropped as too close to the bot's own examples)",
        )
    if r.classifier.tags:
        table.add_row("entity extractor", f"{(len(r.classifier.tags) - 1) // 2} entity labels, trained jointly")
    if outcome.faq is not None:
        f = outcome.faq
        t = f.threshold
        detail = (
            f"; on {t.positives} held-out questions and {t.negatives} intent examples: "
            f"{t.answered_correctly:.0%} answered right, {t.rejected:.0%} of the others left to the intents"
            if t.answered_correctly is not None
            else ""
        )
        margin = (
            f", and others scoring ≥ {t.value:.3f} and {t.margin:+.3f} over the nearest intent example"
            if t.margin is not None
            else ""
        )
        table.add_row(
            "FAQ",
            f"{len(f.bank)} entries; answers unrecognised messages scoring ≥ {t.value:.3f}"
            f"{margin} ({t.chosen_by}{detail})",
        )
        if f.onnx_problem:
            table.add_row("FAQ encoder", f"torch (the ONNX export failed: {f.onnx_problem})")
    table.add_row(
        "serving runtime",
        "ONNX Runtime" if outcome.onnx_problem is None else f"torch (the ONNX export failed: {outcome.onnx_problem})",
    )
    table.add_row("wall time", f"{outcome.seconds:.1f} s")
    console.print(table)
    return 0
