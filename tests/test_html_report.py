"""The HTML report: self-contained (no fetches), deterministic, and it shows the kernel, the schedule, the
per-engine breakdown, a timeline and the alternatives."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import load_example, optimized_example

import tteqsat as tq
from tteqsat.cost import TensixCostModel
from tteqsat.tools.html_report import render_html, timeline_svg, write_html_report


def test_report_is_self_contained_and_complete(tmp_path: Path) -> None:
    res = optimized_example("attention", arch="blackhole")
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
    a = render_html(optimized_example("row_softmax"))  # optimized earlier in the session, against a fresh run
    b = render_html(tq.optimize(load_example("row_softmax")))
    assert a == b


def test_timeline_bars_fit_their_sections() -> None:
    res = optimized_example("two_matmuls")
    rows = TensixCostModel(res.arch).breakdown(res.schedule)
    svg = timeline_svg(rows, width=600)
    widths = [float(w) for w in re.findall(r'<rect[^>]* width="([\d.]+)"', svg)]
    assert widths and max(widths) <= 600 - 90 - 10 + 0.1


def test_report_has_the_derivation_and_why_each_alternative_lost(tmp_path: Path) -> None:
    from tteqsat.tools.rule_stats import derivation_of

    res = tq.optimize(load_example("ten_ops"), overrides={"l1.bytes": 140576})  # the baseline does not fit
    steps = derivation_of(res)
    html = render_html(res, derivation=steps)
    table = html.split('<table id="derivation">')[1].split("</table>")[0]
    assert [f"<td>{s.rule}</td>" in table for s in steps] == [True] * len(steps) and steps
    assert "recip-sqrt-to-rsqrt" in table and "1 / sqrt(a) == rsqrt(a)" in table  # name and identity
    alternatives = html.split('<table id="alternatives">')[1].split("</table>")[0]
    assert "<td>does not fit</td>" in alternatives and "needs 45,056 bytes of L1 for its CBs" in alternatives
    assert "<td>does not apply</td>" in alternatives and "nothing to stream in chunks" in alternatives
    assert "baseline (does not fit L1)" in html and "(does not fit L1)</text>" in html  # table and chart say so
    assert "140576 (set; shipped 1499136)" in html  # the override is in the arch table
    without = render_html(res)
    assert "Not computed for this report" in without and '<table id="derivation">' not in without


def test_a_split_result_says_it_is_the_first_of_two_kernels() -> None:
    res = tq.optimize(load_example("long_attention"), split=4)
    html = render_html(res)
    combine = res.split.combine
    note = html.split("<p id='split'>")[1].split("</p>")[0]
    assert "long_attention_part</b> (this report) computes each of the 4 key parts" in note
    assert f"long_attention_combine</b> merges the parts by their log-sum-exp in {combine.cost_cycles:,.0f}" in note
    assert "Chose split." in html and "<p id='split'>" not in render_html(optimized_example("attention"))
