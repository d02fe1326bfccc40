"""The `agent` command line: train, shell, data validate."""

from __future__ import annotations

import argparse
import logging
import sys

from agent.errors import AgentError, BotFileError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="agent", description="Rasa-compatible conversational agents.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")

    train = sub.add_parser("train", help="train a bot and write a model artifact")
    train.add_argument("bot", help="bot directory (domain.yml, data/, config.yml)")
    train.add_argument("--out", default="models", help="where to write the model (default: models/)")
    train.add_argument("--base-model", help="local Hugging Face-format encoder directory")
    train.add_argument("--fixed-model-name", help="file name of the model, without .tar.gz")
    train.add_argument("--epochs", type=int, help="maximum fine-tuning epochs")

    shell = sub.add_parser("shell", help="chat with a trained bot in the terminal")
    shell.add_argument("--model", help="model file (default: newest in models/)")
    shell.add_argument("--models-dir", default="models", help="where to look for the newest model")
    shell.add_argument("--debug", action="store_true", help="show intents, entities, slots and actions")
    shell.add_argument("--sender", default="shell", help="conversation id")
    shell.add_argument("--faq-edits", default=".agent/faq_edits.db", help="FAQ edit log to follow")
    shell.add_argument(
        "--endpoints",
        default="endpoints.yml",
        help="Rasa's endpoints.yml (action_endpoint); default: endpoints.yml if present",
    )

    test = sub.add_parser("test", help="run test conversations and write Rasa's report files")
    test.add_argument(
        "target",
        nargs="*",
        metavar="[core|e2e|nlu] BOT_DIR",
        help="e2e (default): NLU reads the user text; core: the stories' intents are given; "
        "nlu: intent and entity reports on --data or with --cross-validation",
    )
    test.add_argument("--data", help="nlu: held-out examples (.jsonl {text,intent,entities} or Rasa nlu .yml)")
    test.add_argument("--cross-validation", action="store_true", help="nlu: train and test on K folds of the bot")
    test.add_argument("--folds", type=int, default=5)
    test.add_argument("--model", help="model file (default: newest model of this bot in models/)")
    test.add_argument("--models-dir", default="models")
    test.add_argument("--stories", help="test stories file or folder (default: BOT/tests or stories/<bot>/)")
    test.add_argument("--out", default="results", help="report folder (default: results/)")
    test.add_argument("--successes", action="store_true", help="also write successful_test_stories.yml")
    test.add_argument("--fail-on-prediction-errors", action="store_true", help="exit 1 if any story fails")

    run = sub.add_parser("run", help="serve a trained bot over HTTP (REST, Slack, WeChat, WeCom, HTTP API)")
    run.add_argument("--model", help="model file (default: newest in models/)")
    run.add_argument("--models-dir", default="models")
    run.add_argument("--host", default="0.0.0.0")
    run.add_argument("--port", "-p", type=int, default=5005)
    run.add_argument("--credentials", default="credentials.yml", help="Rasa's credentials.yml (channels)")
    run.add_argument("--endpoints", default="endpoints.yml", help="Rasa's endpoints.yml (action server, stores)")
    run.add_argument("--enable-api", action="store_true", help="serve the HTTP API (/model/parse, /conversations)")
    run.add_argument("--auth-token", help="token the HTTP API requires (?token= or Authorization: Bearer)")
    run.add_argument("--threads", type=int, default=1, help="torch threads for the model (default 1)")
    run.add_argument(
        "--rate-limit",
        type=float,
        default=5.0,
        help="messages per second per sender, with bursts of --rate-burst (0 turns it off)",
    )
    run.add_argument("--rate-burst", type=int, default=20)
    run.add_argument(
        "--nlu-batch",
        type=int,
        default=32,
        help="most messages one encoder pass serves under load (1 turns micro-batching off)",
    )

    run.add_argument(
        "--faq-edits",
        default=".agent/faq_edits.db",
        help="FAQ edit log to follow (written by `agent faq` and PUT /faq/{id})",
    )
    from agent.cli.faq import add_parser as add_faq_parser

    add_faq_parser(sub)

    data = sub.add_parser("data", help="work with bot files")
    data_sub = data.add_subparsers(dest="data_command")
    validate = data_sub.add_parser("validate", help="report every problem in a bot's files with file:line")
    validate.add_argument("bot", help="bot directory")
    validate.add_argument("--fail-on-warnings", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    from rich.markup import escape

    from agent.cli.output import console, print_problem

    if args.version:
        import agent

        print(agent.__version__)
        return 0
    try:
        if args.command == "train":
            from agent.cli.train import run_train

            return run_train(args)
        if args.command == "shell":
            from agent.cli.shell import run_shell

            return run_shell(args)
        if args.command == "run":
            from agent.cli.run import run_server

            return run_server(args)
        if args.command == "test":
            from agent.cli.test import run_test

            return run_test(args)
        if args.command == "faq":
            from agent.cli.faq import run_faq

            return run_faq(args)
        if args.command == "data" and args.data_command == "validate":
            from agent.cli.validate import run_validate

            return run_validate(args)
        parser.print_help(sys.stderr)
        return 2
    except BotFileError as exc:
        for p in exc.problems.items:
            print_problem(p)
        n = len(exc.problems.errors)
        console.print(f"[red]{n} error{'s' if n != 1 else ''}[/red]; nothing was written.")
        return 1
    except AgentError as exc:
        console.print(f"[red]error {exc.code}:[/red] {escape(str(exc))}", markup=True, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
