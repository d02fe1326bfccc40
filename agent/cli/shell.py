"""`agent shell`: chat with a trained bot; numbered buttons, /restart, and a debug view."""

from __future__ import annotations

import asyncio
import sys
import time

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from agent.bot.endpoints import load_endpoints
from agent.core.events import ActionExecuted, HandoffReleased, Restarted, SlotSet, UserUttered
from agent.core.processor import TurnResult
from agent.model.artifact import latest_model

HELP = (
    "type a message; a number presses a button; /restart starts over; /debug toggles details; "
    "/handback gives a handed-off conversation back to the bot; /exit quits"
)
HANDED_OFF = (
    "(handed to a person: the bot stays silent until an agent answers and releases it; under `agent run` "
    "they do that from the agent desk at /desk. Here, /handback plays the agent releasing it.)"
)


class Shell:
    def __init__(self, agent, console: Console, debug: bool, sender: str, live_faq=None):
        self.agent = agent
        self.live_faq = live_faq  # edits from `agent faq` show up in the next reply
        self.console = console
        self.debug = debug
        self.sender = sender
        self.buttons: list[dict] = []

    async def hand_back(self) -> bool:
        """Play the agent who releases the conversation (there is no desk in the shell)."""
        store, domain = self.agent.processor.store, self.agent.domain
        tracker = await store.get_or_create(self.sender, domain)
        if not tracker.state.handoff.silent:
            return False
        released = HandoffReleased(by="shell", to="bot")
        tracker.append(released)
        await store.save(tracker, [released])
        return True

    async def send(self, text: str) -> TurnResult:
        if text.isdigit() and self.buttons and 1 <= int(text) <= len(self.buttons):
            text = self.buttons[int(text) - 1]["payload"]
        if self.live_faq is not None:
            self.live_faq.catch_up()
        result = await self.agent.handle_text(text, self.sender, channel="cmdline")
        self.show(result)
        return result

    def show(self, result: TurnResult) -> None:
        self.buttons = []
        for msg in result.messages:
            if msg.get("text"):
                self.console.print(f"[bold cyan]bot:[/bold cyan] {escape(msg['text'])}", soft_wrap=True)
            if msg.get("image"):
                self.console.print(f"[bold cyan]bot:[/bold cyan] \\[image] {escape(str(msg['image']))}")
            for button in msg.get("buttons", []):
                self.buttons.append(button)
                self.console.print(
                    f"   [bold]{len(self.buttons)}.[/bold] {escape(button['title'])} "
                    f"[dim]({escape(button['payload'])})[/dim]"
                )
        if any(isinstance(e, Restarted) for e in result.events):
            self.console.print("[dim]conversation restarted[/dim]")
        if result.handoff.get("status") in ("queued", "human"):
            self.console.print(f"[dim]{escape(HANDED_OFF)}[/dim]", soft_wrap=True)
        for w in result.warnings:
            self.console.print(f"[yellow]note:[/yellow] {w}")
        if self.debug:
            self.show_debug(result)

    def show_debug(self, result: TurnResult) -> None:
        user = next((e for e in result.events if isinstance(e, UserUttered)), None)
        if user is not None:
            table = Table(title=f"NLU: {user.text!r}", show_lines=False)
            table.add_column("intent")
            table.add_column("confidence", justify="right")
            for row in user.parse_data.get("intent_ranking", [])[:5]:
                table.add_row(str(row["name"]), f"{row['confidence']:.3f}")
            self.console.print(table)
            if "in_scope_score" in user.parse_data:
                self.console.print(
                    f"in-scope score (confidence x neighbour similarity): {user.parse_data['in_scope_score']:.3f}",
                    markup=False,
                )
            self.show_faq(user.parse_data.get("faq"))
            self.show_mood(user.parse_data.get("sentiment"), result.events)
            if user.entities:
                self.console.print(
                    "entities: "
                    + ", ".join(f"{e['entity']}={e.get('value')!r} ({e.get('extractor', '?')})" for e in user.entities),
                    markup=False,
                )
        actions = [e for e in result.events if isinstance(e, ActionExecuted)]
        self.console.print(
            "actions: "
            + " → ".join(
                f"{a.name} [{a.policy}{'' if a.confidence is None else f' {a.confidence:.2f}'}]"
                for a in actions
                if a.policy
            ),
            markup=False,
        )
        slots = {e.name: e.value for e in result.events if isinstance(e, SlotSet)}
        tracker_slots = {k: v for k, v in result.slots.items() if v is not None}
        self.console.print(f"slots: {tracker_slots or '{}'}" + (f" (set now: {slots})" if slots else ""), markup=False)

    def show_mood(self, sentiment: dict | None, events: list) -> None:
        """The message's sentiment and signals, and the conversation's frustration with its evidence."""
        if not sentiment:
            return
        scores = ", ".join(f"{k} {v:.2f}" for k, v in (sentiment.get("scores") or {}).items())
        signals = [name for name, on in (sentiment.get("signals") or {}).items() if on]
        line = f"sentiment: {sentiment.get('label')} ({scores})" + (
            f"; signals: {', '.join(signals)}" if signals else ""
        )
        mood = next((e for e in events if isinstance(e, SlotSet) and e.name == "frustration"), None)
        if mood is not None:
            evidence = ", ".join(f"{k} {v:.2f}" for k, v in (mood.metadata.get("evidence") or {}).items())
            line += f"; frustration {mood.value:.2f}" + (f" ({evidence})" if evidence else "")
        self.console.print(line, markup=False)

    def show_faq(self, faq: dict | None) -> None:
        if not faq:
            return
        table = Table(
            title=f"FAQ candidates (answers from {faq['threshold']:.3f}"
            + (
                f"; nearest intent example {faq['nearest_intent_example']:.3f}"
                if "nearest_intent_example" in faq
                else ""
            )
            + ")"
        )
        table.add_column("entry")
        table.add_column("score", justify="right")
        table.add_column("closest stored question")
        for c in faq["candidates"]:
            mark = " ✓" if c["id"] == faq.get("answer") else ""
            table.add_row(escape(c["id"]) + mark, f"{c['score']:.3f}", escape(c["question"]))
        self.console.print(table)


def run_shell(args) -> int:
    from agent.runtime import Agent

    console = Console(highlight=False)
    path = args.model or latest_model(args.models_dir)
    started = time.time()
    agent = Agent.load(path, endpoints=load_endpoints(args.endpoints))
    live = None
    if agent.interpreter.faq is not None:
        from agent.faq.edits import FAQEditLog
        from agent.faq.live import LiveFAQ

        live = LiveFAQ(agent.interpreter.faq, agent.artifact.manifest["bot"], FAQEditLog(args.faq_edits))
    shell = Shell(agent, console, args.debug, args.sender, live)
    interactive = sys.stdin.isatty()
    console.print(f"[dim]model {path} loaded in {time.time() - started:.1f}s. {HELP}[/dim]")
    return asyncio.run(_loop(shell, interactive))


async def _loop(shell: Shell, interactive: bool) -> int:
    if interactive:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    while True:
        try:
            if interactive:
                text = shell.console.input("[bold green]you:[/bold green] ")
            else:
                line = sys.stdin.readline()
                if not line:
                    return 0
                text = line.rstrip("\n")
                shell.console.print(f"[bold green]you:[/bold green] {escape(text)}")
        except EOFError:
            return 0
        text = text.strip()
        if not text:
            continue
        if text in ("/exit", "/quit", "/stop"):
            return 0
        if text == "/debug":
            shell.debug = not shell.debug
            shell.console.print(f"[dim]debug view {'on' if shell.debug else 'off'}[/dim]")
            continue
        if text == "/help":
            shell.console.print(f"[dim]{HELP}[/dim]")
            continue
        if text == "/handback":
            released = await shell.hand_back()
            shell.console.print(f"[dim]{'back with the bot' if released else 'the bot has this conversation'}[/dim]")
            continue
        await shell.send(text)
