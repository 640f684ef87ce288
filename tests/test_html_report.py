"""The HTML report: self-contained (no fetches), deterministic, and it shows the kernel, the schedule, the
per-engine breakdown, a timeline and the alternatives."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import load_example

import tteqsat as tq
from tteqsat.cost import TensixCostModel
from tteqsat.tools.html_report import render_html, timeline_svg, write_html_report


def test_report_is_self_contained_and_complete(tmp_path: Path) -> None:
    res = tq.optimize(load_example("attention"), "blackhole")
    path = write_html_report(res, tmp_path / "r" / "attention.html")
    html = path.read_text()
    assert not re.search(r"""(src|href)\s*=\s*["']?https?:""", html) and "<script" not in html
    assert "<link" not in html and "@import" not in html
    for heading in ("Kernel", "Schedule", "Where the cycles go", "Engine timeline", "Alternatives considered"):
        assert f"<h2>{heading}</h2>" in html
    assert "matmul(q, %" in html and "softmax(" in html          # the kernel's ops
    assert html.count("<svg") == 2 and "math_sfpu" in html       # timeline and alternatives chart
    assert f"{res.cost_cycles:,.0f}" in html and f"{res.baseline_cycles:,.0f}" in html
    assert "baseline" in html and "fused" in html
    for sec in res.schedule.sections:
        assert f"{sec.cycles:,.0f}" in html


def test_report_is_deterministic(tmp_path: Path) -> None:
    a = render_html(tq.optimize(load_example("row_softmax")))
    b = render_html(tq.optimize(load_example("row_softmax")))
    assert a == b


def test_timeline_bars_fit_their_sections() -> None:
    res = tq.optimize(load_example("two_matmuls"))
    rows = TensixCostModel(res.arch).breakdown(res.schedule)
    svg = timeline_svg(rows, width=600)
    widths = [float(w) for w in re.findall(r'<rect[^>]* width="([\d.]+)"', svg)]
    assert widths and max(widths) <= 600 - 90 - 10 + 0.1
