"""`agent data validate`: every problem in every file, then a verdict."""

from __future__ import annotations

from agent.bot.project import load_bot
from agent.cli.output import console, print_problem
from agent.errors import Problems


def run_validate(args) -> int:
    problems = Problems()
    bot = load_bot(args.bot, problems, strict=False)
    problems.items += _environment(bot)
    if not problems.errors:
        problems.items += _story_conflicts(bot)
    if bot.config.intent.entity_recognition and any(e.entities for e in bot.nlu.examples):
        problems.items += _entity_alignment(bot)
    for p in problems.items:
        print_problem(p)
    # what `rasa data validate` rejects fails here too, though `agent train` carries on after it
    failing = [p for p in problems.warnings if p.fails_validation]
    errors, warnings = len(problems.errors) + len(failing), len(problems.warnings) - len(failing)
    summary = (
        f"{bot.name}: {len(bot.domain.intents)} intents, {len(bot.nlu.examples)} examples, "
        f"{len(bot.stories)} stories, {len(bot.rules)} rules, {len(bot.domain.responses)} responses"
        + (f", {len(bot.faq)} FAQ entries" if bot.faq else "")
    )
    console.print(summary, markup=False)
    if errors or (warnings and args.fail_on_warnings):
        console.print(f"[red]{errors} errors, {warnings} warnings[/red]")
        return 1
    console.print(f"[green]valid[/green] ({warnings} warnings)")
    return 0


def _story_conflicts(bot) -> list:
    """Stories that reach the same state and part ways (needs the compiled stories: core, not bot)."""
    from agent.core.story_conflicts import story_conflicts
    from agent.core.training_data import TrainingData
    from agent.errors import Warnings

    data = TrainingData.compile(bot.stories, [], bot.domain)
    out = []
    for conflict in story_conflicts(data, bot.config.policy.max_history):
        story, file, line = next(iter(conflict.actions.values()))
        ways = "; ".join(f"'{name}' does {action}" for action, (name, _, _) in sorted(conflict.actions.items()))
        out.append(Warnings.STORY_CONFLICT.problem(file, line, after=conflict.after, ways=ways))
    return out


def _environment(bot) -> list:
    """What this machine lacks for the bot (not a problem of its files, so not found while loading)."""
    from agent.nlu.multilingual import missing_encoder

    missing = missing_encoder(bot.config, str(bot.root / "config.yml"))
    return [missing] if missing else []


def _entity_alignment(bot) -> list:
    """Entity spans the base model's tokenizer cannot represent, reported before any training."""
    from agent.errors import AgentError
    from agent.nlu.encoder import isolate_cjk, load_tokenizer, resolve_base_model
    from agent.nlu.entity_tags import alignment_problems

    try:
        tokenizer = isolate_cjk(load_tokenizer(resolve_base_model(bot.config.intent.base_model)))
    except AgentError:
        return []  # the base model problem itself is reported when training
    return alignment_problems(bot.nlu.examples, tokenizer)
