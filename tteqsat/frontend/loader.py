"""Loading a kernel from a user's Python file."""

from __future__ import annotations

import runpy
from pathlib import Path

from tteqsat.errors import KernelError
from tteqsat.frontend.ir import Kernel


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
        raise KernelError(f"{path}: failed to run: {type(e).__name__}: {e}") from None
    if isinstance(namespace.get("kernel"), Kernel):
        return namespace["kernel"]
    kernels = [v for k, v in namespace.items() if isinstance(v, Kernel) and not k.startswith("_")]
    if len(kernels) == 1:
        return kernels[0]
    if not kernels:
        raise KernelError(f"{path}: defines no kernel (assign tq.kernel(...) to a module-level name `kernel`)")
    raise KernelError(f"{path}: defines {len(kernels)} kernels; name the one to use `kernel`")
