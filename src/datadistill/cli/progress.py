"""A rich progress bar fed by the library's run events (the library itself never prints)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class RunProgress:
    """Context manager turning Distiller events into a progress bar with ETA and the current loss."""

    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("loss {task.fields[loss]}"), TimeElapsedColumn(),
                                 TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False)
        self.task: Any = None

    def __enter__(self) -> "RunProgress":
        return self  # the bar starts with the run's first event: an option or data error leaves no empty line

    def __exit__(self, *exc: Any) -> None:
        if self.task is not None:
            self.progress.__exit__(*exc)

    def add_task(self, total: int, completed: int) -> None:
        """Start the bar (on the first event)."""
        self.progress.start()
        self.task = self.progress.add_task(self.label, total=total, completed=completed, loss="-")

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            self.add_task(event["iterations"], event["start"])
        elif kind == "step":
            self.progress.update(self.task, completed=event["iteration"] + 1, loss=f"{event['loss']:.4f}")
        elif kind == "eval":
            ev = event["eval"]
            self.progress.console.print(f"  iteration {event['iteration'] + 1}: {ev['model']} "
                                        f"{ev['mean']:.2f} +- {ev['std']:.2f} % ({ev['protocol']}, n={ev['n']})")


class ExpertProgress(RunProgress):
    """Expert-buffer events (start / epoch / expert) as a bar over all remaining expert epochs."""

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            self.epochs, self.local = event["epochs"], set()
            total = (event["num"] - event["done"]) * self.epochs
            self.add_task(max(total, 1), 0)
        elif kind == "epoch":
            self.local.add(event["expert"])
            self.progress.advance(self.task)
        elif kind == "expert":
            if event["expert"] not in self.local:  # trained by another process of a torchrun job
                self.progress.advance(self.task, self.epochs)
            mb = event["bytes"] / 2**20
            self.progress.console.print(f"  expert {event['expert']}: test {event['test_acc']:.2f} %, "
                                        f"{mb:.1f} MB, {event['train_s']:.0f} s")


class Silent:
    """Stands in for a progress bar on the processes of a torchrun job other than rank 0."""

    def __enter__(self) -> "Silent":
        return self

    def __exit__(self, *exc: Any) -> None:
        pass

    def __call__(self, event: dict[str, Any]) -> None:
        pass
