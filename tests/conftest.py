"""Shared helpers: load example kernels at a chosen dtype, and parse MLIR with xdsl."""

from __future__ import annotations

from pathlib import Path

import pytest

import tteqsat as tq

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "kernels"


def load_example(name: str, dtype: str = "bf16") -> tq.Kernel:
    """An example kernel file, re-traced at `dtype` (the files declare DTYPE = "bf16")."""
    path = EXAMPLES / f"{name}.py"
    src = path.read_text().replace('DTYPE = "bf16"', f'DTYPE = "{dtype}"')
    namespace: dict = {}
    exec(compile(src, str(path), "exec"), namespace)
    return namespace["kernel"]


def parse_with_xdsl(text: str):
    from xdsl.context import Context
    from xdsl.dialects import get_all_dialects
    from xdsl.parser import Parser

    ctx = Context(allow_unregistered=True)
    for name, factory in get_all_dialects().items():
        ctx.register_dialect(name, factory)
    return Parser(ctx, text).parse_module()


@pytest.fixture
def xdsl_parse():
    return parse_with_xdsl
