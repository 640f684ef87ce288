"""The console every command prints to: rich on a terminal, unwrapped plain text in logs and pipes."""

from __future__ import annotations

import sys
from typing import TextIO

# Wide enough that no table or line of ours wraps; rich sizes tables to their content, so nothing is padded.
PIPE_WIDTH = 10_000


def console_for(stream: TextIO | None = None):
    """A rich Console on `stream` (default stdout): the terminal's width on a terminal; otherwise no wrapping,
    so a log or `grep` sees each table row and sentence on one line."""
    from rich.console import Console

    stream = stream or sys.stdout
    if stream.isatty():
        return Console(file=stream)
    return Console(file=stream, width=PIPE_WIDTH, soft_wrap=True)
