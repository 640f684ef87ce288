"""Shared helpers: load example kernels at a chosen dtype, and parse MLIR with xdsl."""

from __future__ import annotations

import functools
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


@functools.cache
def optimized_example(name: str, dtype: str = "bf16", arch: str = "wormhole_b0") -> tq.Result:
    """`tq.optimize(load_example(name, dtype), arch)` with every default, once per test session: many tests read
    the same result (CI time). Callers only read it; a test that patches the optimizer or the emitter, changes a
    result's attributes, or checks that two runs give the same bytes optimizes afresh."""
    return tq.optimize(load_example(name, dtype), arch)


def without_fpu_bcast() -> list:
    """The shipped rulesets without the hw_fpu_bcast rules (rules/hardware.py): a broadcast operand then goes
    through unary_bcast into DST and a dest-reuse op, the form tests of that mechanism need."""
    import dataclasses

    from tteqsat import rules

    return [dataclasses.replace(rs, rules=tuple(r for r in rs.rules
                                                if not (r.name.startswith("fpu-") and "bcast" in r.name)))
            for rs in rules.shipped_rulesets()]


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


EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.py"))
FORM_NAMES = ("baseline", "fused", "streaming")


@pytest.fixture(scope="session")
def emitted_modules() -> dict[str, str]:
    """The MLIR of every example kernel on both archs, in bf16 and fp32, in every form that applies to it
    (``"name/arch/dtype/form"`` -> text); optimized once per test session. The forms of one kernel on one arch
    share their schedule prices (`pipeline.Prices`: each form's optimization weighs the same programs)."""
    import warnings

    from tteqsat.pipeline import Prices

    out: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in EXAMPLE_NAMES:
            for dtype in ("bf16", "fp32"):
                kernel = load_example(name, dtype)
                for arch in ("wormhole_b0", "blackhole"):
                    prices = Prices()
                    for form in FORM_NAMES:
                        try:
                            result = tq.optimize(kernel, arch, form=form, prices=prices)
                        except tq.KernelError:
                            continue  # the form does not apply (no fold to stream, or it does not fit L1)
                        out[f"{name}/{arch}/{dtype}/{form}"] = result.to_mlir()
    return out


@pytest.fixture(scope="session")
def distinct_modules(emitted_modules: dict[str, str]) -> dict[str, str]:
    """`emitted_modules` without repeats: a module that differs from an earlier one only in its
    ``tteqsat.arch`` attribute is left out (the first key of each kind stays)."""
    import re

    seen: set[str] = set()
    out: dict[str, str] = {}
    for key, text in emitted_modules.items():
        body = re.sub(r'tteqsat\.arch = "[^"]*"', "", text)
        if body not in seen:
            seen.add(body)
            out[key] = text
    return out


@pytest.fixture(scope="session")
def emitted_cpp(distinct_modules: dict[str, str]) -> dict[str, dict[str, str]]:
    """The C++ of every distinct emitted module (key -> function name -> source)."""
    from tteqsat.lowering.cpp import translate_to_cpp

    return {key: translate_to_cpp(text) for key, text in distinct_modules.items()}
