"""`agent faq list|add|update|remove`: change the FAQ a bot serves, with no retraining. Edits go to
the edit log (default .agent/faq_edits.db) that running servers follow; they are live within a
second and stay in force for later models of the same bot."""

from __future__ import annotations

import json

from rich.table import Table

from agent.bot.faq_entries import FAQEntry, entry_problems
from agent.cli.output import console
from agent.errors import Errors
from agent.faq.edits import REMOVE, UPSERT, FAQEditLog
from agent.faq.live import merged_entries
from agent.model.artifact import latest_model, read_members


def add_parser(sub) -> None:
    faq = sub.add_parser("faq", help="list or edit the FAQ a bot serves (no retraining)")
    faq_sub = faq.add_subparsers(dest="faq_command")
    common = {
        "--model": "model file (default: newest in models/)",
        "--models-dir": "where to look for it",
        "--edits": "the edit log servers follow (default: .agent/faq_edits.db)",
    }
    parsers = {
        "list": faq_sub.add_parser("list", help="the entries served now"),
        "add": faq_sub.add_parser("add", help="add an entry"),
        "update": faq_sub.add_parser("update", help="change an entry (only what you give)"),
        "remove": faq_sub.add_parser("remove", help="remove an entry"),
    }
    for name, p in parsers.items():
        p.add_argument("--model", help=common["--model"])
        p.add_argument("--models-dir", default="models", help=common["--models-dir"])
        p.add_argument("--edits", default=".agent/faq_edits.db", help=common["--edits"])
        if name in ("add", "update", "remove"):
            p.add_argument("id", help="entry id, e.g. gift_card_balance")
        if name in ("add", "update"):
            p.add_argument(
                "--question",
                "-q",
                action="append",
                default=[],
                help="a way customers ask it (repeat for several); update: replaces the questions",
            )
            p.add_argument("--add-question", action="append", default=[], help="update: add to the questions")
            p.add_argument("--answer", "-a", help="the answer text")
            p.add_argument(
                "--button",
                action="append",
                default=[],
                metavar="TITLE=PAYLOAD",
                help="a button under the answer, e.g. 'Talk to us=/talk_to_human'",
            )
            p.add_argument("--tag", action="append", default=[])
            p.add_argument("--language")
        if name == "list":
            p.add_argument("--json", action="store_true", help="print the entries as JSON")


def run_faq(args) -> int:
    if not getattr(args, "faq_command", None):
        raise Errors.FAQ_COMMAND_MISSING.error()
    model = args.model or latest_model(args.models_dir)
    files = read_members(model, ("manifest.json", "faq/entries.json"))
    if "manifest.json" not in files:
        raise Errors.MODEL_WITHOUT_MANIFEST.error(path=model)
    if "faq/entries.json" not in files:
        raise Errors.MODEL_WITHOUT_FAQ.error(path=model)
    bot = json.loads(files["manifest.json"])["bot"]
    trained = [FAQEntry.from_dict(e) for e in json.loads(files["faq/entries.json"])["entries"]]
    log = FAQEditLog(args.edits)
    try:
        current = {e.id: e for e in merged_entries(trained, log.since(bot))}
        if args.faq_command == "list":
            return _list(list(current.values()), {e.id for e in trained}, args.json)
        if args.faq_command == "remove":
            if args.id not in current:
                raise Errors.FAQ_ENTRY_UNKNOWN.error(id=args.id, advice="`agent faq list` shows them")
            edit = log.append(bot, REMOVE, args.id)
            console.print(f"removed '{args.id}' (edit {edit.seq}); running servers stop serving it within a second")
            return 0
        entry = _edited(args, current.get(args.id))
        problems = entry_problems(entry)
        if problems:
            raise Errors.FAQ_EDIT_INVALID.error(problems="; ".join(problems))
        edit = log.append(bot, UPSERT, args.id, entry)
        verb = "added" if args.faq_command == "add" else "updated"
        console.print(
            f"{verb} '{args.id}' with {len(entry['questions'])} question(s) (edit {edit.seq}); "
            "running servers answer with it within a second"
        )
        return 0
    finally:
        log.close()


def _edited(args, existing: FAQEntry | None) -> dict:
    if args.faq_command == "add":
        if existing is not None:
            raise Errors.FAQ_ENTRY_EXISTS.error(id=args.id)
        if not args.question or not args.answer:
            raise Errors.FAQ_NEW_ENTRY_INCOMPLETE.error()
        entry: dict = {"id": args.id, "questions": [], "answer": {}}
    else:
        if existing is None:
            raise Errors.FAQ_ENTRY_UNKNOWN.error(id=args.id, advice=f"add it with `agent faq add {args.id}`")
        entry = existing.to_dict()
        entry.pop("response", None)
    if args.question:
        entry["questions"] = list(args.question)
    entry["questions"] = entry["questions"] + list(args.add_question)
    answer = dict(entry.get("answer") or {})
    if args.answer:
        answer["text"] = args.answer
    if args.button:
        answer["buttons"] = [_button(b) for b in args.button]
    entry["answer"] = answer
    if args.tag:
        entry["tags"] = list(args.tag)
    if args.language:
        entry["language"] = args.language
    return entry


def _button(spec: str) -> dict:
    title, sep, payload = spec.partition("=")
    if not sep or not title.strip():
        raise Errors.FAQ_BUTTON_FORM.error(spec=spec)
    return {"title": title.strip(), "payload": payload.strip()}


def _list(entries: list[FAQEntry], trained_ids: set[str], as_json: bool) -> int:
    if as_json:
        print(json.dumps([e.to_dict() for e in entries], ensure_ascii=False, indent=1))
        return 0
    table = Table(title=f"{len(entries)} FAQ entries")
    table.add_column("id")
    table.add_column("questions", justify="right")
    table.add_column("answer", no_wrap=True, overflow="ellipsis", max_width=48)
    table.add_column("source")
    for e in sorted(entries, key=lambda e: e.id):
        text = e.answer.get("text") or (e.response or "")
        table.add_row(e.id, str(len(e.questions)), text, "model" if e.id in trained_ids else "edit")
    console.print(table)
    return 0
