"""Limits stop the growing stage and keep the best schedule so far, with a warning naming the limit."""

from __future__ import annotations

import pytest
from conftest import load_example

import tteqsat as tq


@pytest.mark.parametrize(("limits", "name"), [
    (tq.Limits(iterations=1), "iterations"),
    (tq.Limits(enodes=10), "enodes"),
    (tq.Limits(seconds=0.0), "seconds"),
])
def test_a_limit_keeps_the_best_so_far_and_names_itself(limits: tq.Limits, name: str) -> None:
    kernel = load_example("attention")
    with pytest.warns(UserWarning, match=f"stopped at the {name} limit"):
        result = tq.optimize(kernel, limits=limits)
    assert result.saturation.stopped_by == name
    assert any(name in w for w in result.warnings)
    assert result.cost_cycles <= result.baseline_cycles
    result.verify()


def test_no_limit_hit_means_no_warning(recwarn) -> None:
    result = tq.optimize(load_example("attention"))
    assert result.saturation.stopped_by is None and not result.warnings
    assert not [w for w in recwarn if "limit" in str(w.message)]


def test_cli_limits_are_passed_through(capsys) -> None:
    from conftest import EXAMPLES

    from tteqsat.cli import main

    assert main(["optimize", str(EXAMPLES / "attention.py"), "--max-iterations", "1"]) == 0
    assert "stopped at the iterations limit" in capsys.readouterr().out
