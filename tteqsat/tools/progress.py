"""A live saturation display: iteration and e-nodes against the limits, on a terminal only.

    with SaturationProgress(limits) as progress:
        tq.optimize(kernel, limits=limits, progress=progress)  # or saturate(eg, rs, limits, progress)

It is the `progress(iteration, enodes)` callback `saturate` takes. When stdout is not a terminal (a pipe, a
file, CI) it prints nothing, so scripted output stays clean. It also works without `with`: the display starts
on the first call and `close()` ends it.
"""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.text import Text

from tteqsat.egraph.saturate import Limits


class SaturationProgress:
    """Callable as `progress(iteration, enodes)`; shows the latest values, silent off a terminal."""

    def __init__(self, limits: Limits | None = None, console: Console | None = None,
                 label: str = "saturating", enabled: bool | None = None) -> None:
        self.limits = limits or Limits()
        self.console = console or Console()
        self.label = label
        self.enabled = sys.stdout.isatty() if enabled is None else enabled
        self.iteration = 0
        self.enodes = 0
        self.best_cost: float | None = None  # set by optimize before each call when it can price the e-graph
        self.calls = 0
        self._start = time.perf_counter()
        self._live: Live | None = None

    def __call__(self, iteration: int, enodes: int) -> None:
        self.iteration, self.enodes = iteration, enodes
        self.calls += 1
        if not self.enabled:
            return
        if self._live is None:
            self._live = Live(self.render(), console=self.console, refresh_per_second=8, transient=True)
            self._live.start()
        self._live.update(self.render())

    def render(self) -> Text:
        lim = self.limits
        elapsed = time.perf_counter() - self._start
        best = f"  best {self.best_cost:,.0f} cycles" if self.best_cost is not None else ""
        return Text(f"{self.label}: iteration {self.iteration}/{lim.iterations}  "
                    f"{self.enodes:,}/{lim.enodes:,} e-nodes  {elapsed:.1f}/{lim.seconds:g} s{best}")

    def close(self) -> None:
        """Stop the display (it is transient: the terminal is left as it was)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> SaturationProgress:
        self._start = time.perf_counter()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
