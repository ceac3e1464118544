"""The command line's progress bars for long work (issue 29 item 14): a backup or restore
step by step (files, and bytes where their sizes are known), and a background job run here
(a copy: `kustosz copies make`). The time left is the job page's (kustosz.jobs.eta): rounded
as far as it can be trusted, shown only once it means something. On stderr, and only on a
terminal (a script reads the result lines, not the bar)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.text import Text

from kustosz.backup.progress import human_bytes
from kustosz.cli.common import err_console
from kustosz.jobs import eta

if TYPE_CHECKING:
    from kustosz.jobs.records import JobView


class TimeLeft(ProgressColumn):
    """"około 5 minut do końca": the estimate from the step's pace so far."""

    def render(self, task: Task) -> Text:
        if not task.total or task.finished:
            return Text("")
        words = eta.estimate(task.completed / task.total, task.elapsed or 0.0)
        return Text(words or "", style="progress.remaining")


class Counts(ProgressColumn):
    """"pliki: 340/800, 1,2 GB z 2,7 GB" (the files, and the bytes when counted)."""

    def render(self, task: Task) -> Text:
        f = task.fields
        if "files_total" not in f:
            return Text("")
        text = f"pliki: {f['files']}/{f['files_total']}"
        if f.get("bytes_total"):
            text += f", {human_bytes(task.completed)} z {human_bytes(f['bytes_total'])}"
        return Text(text, style="progress.download")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                    Counts(), TimeLeft(), console=err_console, transient=True)


class StepBar:
    """A `kustosz.backup.layout.Progress` drawn as a bar, a step at a time."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.by_bytes = False

    def start(self, what: str, total: int, total_bytes: int = 0) -> None:
        if self.task is not None:
            self.progress.update(self.task, visible=False)
        self.by_bytes = total_bytes > 0
        self.task = self.progress.add_task(
            what, total=total_bytes if self.by_bytes else max(total, 1), files=0,
            files_total=total, bytes_total=total_bytes)
        self.progress.refresh()  # every step is drawn, however short

    def advance(self, n: int = 1, nbytes: int = 0) -> None:
        task = self.progress.tasks[self.progress.task_ids.index(self.task)]
        self.progress.update(self.task, files=task.fields["files"] + n,
                             advance=nbytes if self.by_bytes else n)


@contextmanager
def step_bar() -> Iterator[StepBar]:
    with _progress() as progress:
        yield StepBar(progress)


@contextmanager
def job_bar(title: str) -> Iterator[Any]:
    """A watch for `kustosz.jobs.Inline`: the job's progress (0..1) and what it is doing,
    with the time left. Yields the callback, or None when stderr is not a terminal."""
    if not err_console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeLeft(), TextColumn("{task.fields[note]}", style="dim"),
                  console=err_console, transient=True) as progress:
        task = progress.add_task(title, total=1.0, note="")

        def show(view: JobView) -> None:
            if not view.finished:
                progress.update(task, completed=view.progress, note=view.note or "")

        yield show
