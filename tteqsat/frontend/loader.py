"""Loading a kernel from a user's Python file, and saying where in it a failure happened."""

from __future__ import annotations

import os
import runpy
import traceback
from pathlib import Path

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import Kernel


def failure_in_file(path: str | Path, error: BaseException) -> str:
    """`FILE:LINE: failed to run: Type: message`, at the innermost line of `path` the error passed through
    (a syntax error: its own line), plus where it was raised when that is outside the file."""
    target = os.path.realpath(path)
    what = f"{type(error).__name__}: {error}"
    if isinstance(error, SyntaxError) and error.filename and os.path.realpath(error.filename) == target:
        return f"{path}:{error.lineno}: syntax error: {error.msg}"
    frames = traceback.extract_tb(error.__traceback__)
    mine = [f for f in frames if os.path.realpath(f.filename) == target]
    if not mine:
        return f"{path}: failed to run: {what}"
    if isinstance(error, KernelError):  # tteqsat's own message already says what is wrong
        return f"{path}:{mine[-1].lineno}: {error}"
    where = f"{path}:{mine[-1].lineno}: failed to run: {what}"
    last = frames[-1]
    if last is not mine[-1]:
        where += f" (raised in {last.name} at {last.filename}:{last.lineno})"
    return where


def load_kernel(path: str) -> Kernel:
    """The module-level `kernel` of a Python file, or its only tq.Kernel."""
    file = Path(path)
    if not file.is_file():
        raise KernelError(f"{path}: no such file")
    try:
        namespace = runpy.run_path(str(file), run_name="__tteqsat_kernel__")
    except KernelError:
        raise
    except SystemExit:
        raise KernelError(f"{path}: the file called exit() while loading") from None
    except Exception as e:  # the user's code: one line, no traceback
        raise KernelError(failure_in_file(path, e)) from None
    if isinstance(namespace.get("kernel"), Kernel):
        return namespace["kernel"]
    kernels = [v for k, v in namespace.items() if isinstance(v, Kernel) and not k.startswith("_")]
    if len(kernels) == 1:
        return kernels[0]
    if not kernels:
        raise KernelError(f"{path}: defines no kernel (assign tq.kernel(...) to a module-level name `kernel`)")
    raise KernelError(f"{path}: defines {len(kernels)} kernels; name the one to use `kernel`")
