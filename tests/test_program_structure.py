"""Program.structure: what a schedule's price is looked up by (pipeline.Prices, shared by an optimization's
re-runs), so it must tell apart every two programs scheduling can tell apart, and only ignore where ops came from."""

from __future__ import annotations

import warnings

from conftest import load_example, optimized_example

import tteqsat as tq
from tteqsat.extraction.program import HwOp, Program
from tteqsat.pipeline import Prices


def program(op: str = "exp", attrs: dict | None = None, shape: tuple[int, int] = (64, 64), shared: bool = True,
            origin: str = "e", swap: bool = False) -> Program:
    x = HwOp("input", "input", (), shape, {"name": "x"}, origin + "0")
    y = HwOp("input", "input", (), shape, {"name": "y"}, origin + "1")
    a = HwOp("sfpu", op, (x,), shape, dict(attrs or {}), origin + "2", loc="k.py:3")
    b = a if shared else HwOp("sfpu", op, (x,), shape, dict(attrs or {}), origin + "3")
    out = HwOp("fpu", "add", (b, a) if not swap else (y, a), shape, {}, origin + "4")
    return Program("k", "bf16", [x, y], [("o", out)])


def test_structure_ignores_where_ops_came_from() -> None:
    assert program(origin="TensorExpr-").structure() == program(origin="other-").structure()


def test_structure_tells_apart_what_scheduling_reads() -> None:
    base = program().structure()
    for other in (program(op="sqrt"), program(attrs={"s": 0.5}), program(shape=(32, 64)), program(shared=False),
                  program(swap=True)):
        assert other.structure() != base
    renamed = program()
    renamed.outputs = [("p", renamed.outputs[0][1])]
    assert renamed.structure() != base


def test_a_rerun_reads_the_first_runs_prices_and_gets_the_same_result() -> None:
    kernel = load_example("attention")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prices = Prices()
        first = tq.optimize(kernel, prices=prices)
        priced = len(prices.cycles)
        again = tq.optimize(kernel, prices=prices)
        fresh = optimized_example("attention")  # a run of its own, without these prices (shared in the session)
    assert priced > 0 and len(prices.cycles) == priced  # the re-run priced nothing new
    assert again.fingerprint() == first.fingerprint() == fresh.fingerprint()
    assert again.to_mlir() == fresh.to_mlir()
