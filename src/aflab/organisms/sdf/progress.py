"""Progress of the pipeline: one bar per stage on a terminal (rich, which Inspect brings)."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol

from rich import progress as bars
from rich.console import Console


class Progress(Protocol):
    def add_total(self, stage: str, count: int) -> None: ...

    def advance(self, stage: str, count: int = 1) -> None: ...


class NoProgress:
    def add_total(self, stage: str, count: int) -> None:
        pass

    def advance(self, stage: str, count: int = 1) -> None:
        pass


class StageProgress:
    """Bars appear as their stage gets work; totals grow as earlier stages reveal it."""

    def __init__(self, enabled: bool = True) -> None:
        console = Console(stderr=True)
        # Off the terminal (logs, CI) a live bar only adds noise; the summary says it all.
        self.bars = bars.Progress(
            bars.TextColumn("{task.description:<10}"),
            bars.BarColumn(),
            bars.MofNCompleteColumn(),
            bars.TimeElapsedColumn(),
            console=console,
            disable=not (enabled and console.is_terminal),
        )
        self.tasks: dict[str, bars.TaskID] = {}
        self.totals: dict[str, int] = {}

    def __enter__(self) -> StageProgress:
        self.bars.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.bars.stop()

    def _task(self, stage: str) -> bars.TaskID:
        if stage not in self.tasks:
            self.tasks[stage] = self.bars.add_task(stage, total=0)
        return self.tasks[stage]

    def add_total(self, stage: str, count: int) -> None:
        self.totals[stage] = self.totals.get(stage, 0) + count
        self.bars.update(self._task(stage), total=self.totals[stage])

    def advance(self, stage: str, count: int = 1) -> None:
        self.bars.advance(self._task(stage), count)
