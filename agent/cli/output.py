"""Printing problems and progress with rich."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from agent.errors import Problem

if TYPE_CHECKING:  # importing the trainer pulls in torch: 1.5 s that `agent faq` does not need
    from agent.nlu.training.result import EpochMetrics

console = Console(stderr=True, highlight=False)


def print_problem(p: Problem) -> None:
    style = "red" if p.severity == "error" else "yellow"
    severity = f"{p.severity} {p.code}" if p.code else p.severity  # e.g. "error E104": its entry in docs/errors.md
    console.print(
        f"[bold]{escape(p.location())}[/bold]: [{style}]{severity}[/{style}]: {escape(p.message)}",
        markup=True,
        soft_wrap=True,
    )
    if p.excerpt:
        console.print(f"    {p.excerpt}", markup=False)
        if p.column:
            console.print("    " + " " * (p.column - 1) + "^", markup=False)
    if p.hint:
        console.print(f"    [dim]hint:[/dim] {escape(p.hint)}", markup=True, soft_wrap=True)


class RichReporter:
    """Training progress: epochs, steps, loss, validation accuracy, elapsed and remaining time."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TextColumn("{task.fields[val]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None
        self.epochs = 0
        self.epoch = 1

    def start(self, total_steps: int, epochs: int) -> None:
        self.epochs = epochs
        self.progress.start()
        self.task = self.progress.add_task(f"epoch 1/{epochs}", total=total_steps, loss=0.0, val="")

    def step(self, loss: float) -> None:
        self.progress.update(self.task, advance=1, loss=loss)

    def epoch_end(self, m: EpochMetrics) -> None:
        val = f"val acc {m.val_accuracy:.3f}" if m.val_accuracy is not None else f"train acc {m.train_accuracy:.3f}"
        self.epoch = m.epoch + 1
        self.progress.update(self.task, description=f"epoch {min(self.epoch, self.epochs)}/{self.epochs}", val=val)

    def finish(self) -> None:
        if self.task is not None:
            task = self.progress.tasks[0]
            self.progress.update(self.task, total=task.completed, description=f"done ({self.epoch - 1} epochs)")
        self.progress.stop()
