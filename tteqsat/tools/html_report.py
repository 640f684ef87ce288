"""A self-contained HTML report of one optimization: the kernel, the schedule, where its cycles go, an
engine timeline, the alternatives the optimizer weighed (and why each lost or does not fit), and the
derivation (the rules the result depends on). Inline CSS and SVG only: it opens offline,
and the same result always gives the same bytes (no timestamps, no timings).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from tteqsat.arch import KNOWN, load_arch
from tteqsat.cost.model import CostModel, TensixCostModel
from tteqsat.pipeline import Result
from tteqsat.rules import rule_identity
from tteqsat.tools.report import wide_dst_line
from tteqsat.tools.rule_stats import Step

LANES = (("unpack", "#4c78a8"), ("math_fpu", "#f58518"), ("math_sfpu", "#e45756"), ("pack", "#54a24b"),
         ("sync+init", "#b0b0b0"))
CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px} td,th{border:1px solid #ddd;padding:3px 7px}
th{background:#f4f4f4;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px ui-monospace,monospace} pre{background:#f7f7f7;padding:8px;overflow-x:auto}
.sub{color:#666} .win{font-weight:600} .bad{color:#a33} svg text{font:11px system-ui,sans-serif}
"""


def _num(x: object) -> str:
    return f"{x:,.0f}" if isinstance(x, int | float) else escape(str(x))


def _table(headers: list[str], rows: list[list[object]], numeric: set[int] | None = None, table_id: str = "") -> str:
    numeric = numeric if numeric is not None else {i for i, v in enumerate(rows[0]) if isinstance(v, int | float)} \
        if rows else set()
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td class="n">{_num(v)}</td>' if i in numeric else f"<td>{escape(str(v))}</td>"
                                    for i, v in enumerate(r)) + "</tr>" for r in rows)
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><tr>{head}</tr>{body}</table>"


def _op_label(op) -> str:
    accurate = ", accurate" if op.attrs.get("accurate") else ""
    if op.kind == "exp_scaled":
        return f"exp({float(op.attrs['s']):g}x{accurate})"
    if op.kind == "sfpu" and op.op == "exp" and accurate:
        return "exp(accurate)"
    if op.kind in ("matmul", "copy", "transpose"):
        return op.kind + ("(b.T)" if op.attrs.get("transpose_b") else "")
    if op.kind == "reuse":
        return f"{op.op}(dest_reuse)"
    if op.kind == "fpu" and op.attrs.get("bcast"):
        return f"{op.op}(bcast {op.attrs['bcast']} tile)"
    return op.op


def _kernel_section(kernel) -> str:
    names: dict[int, str] = {}
    lines = []
    for node in kernel.nodes():
        if node.op == "input":
            names[id(node)] = str(node.attr("name"))
            lines.append(f"{names[id(node)]:>6} = input {node.shape[0]}x{node.shape[1]} {node.dtype}")
            continue
        names[id(node)] = f"%{len(names)}"
        args = ", ".join([names[id(i)] for i in node.inputs] + [f"{k}={v}" for k, v in node.attrs])
        where = f"   # {Path(node.loc.rsplit(':', 1)[0]).name}:{node.loc.rsplit(':', 1)[1]}" if ":" in node.loc else ""
        lines.append(f"{names[id(node)]:>6} = {node.op}({args}) : {node.shape[0]}x{node.shape[1]}{where}")
    for out, node in kernel.outputs:
        lines.append(f"output {out} = {names[id(node)]}")
    return f"<h2>Kernel</h2><pre>{escape(chr(10).join(lines))}</pre>"


def _schedule_section(result) -> str:
    s = result.schedule
    roles = {cb.id: cb.role for cb in s.cbs}
    loop = s.loop
    rows = []
    for sec in s.sections:
        packs = ", ".join(f"cb{p.cb} ({roles.get(p.cb, '?')})" for p in sec.packs)
        runs = loop.trips if sec.in_loop and loop is not None else 1
        where = (f"loop x{runs}, a trip ahead" if sec.ahead else f"loop x{runs}") if sec.in_loop else "once"
        where += ", passes alternating with the section before" if sec.interleaved else ""
        where += ", waits row block by row block" if sec.row_waits else ""
        where += ", packs over what it reads, popping pass by pass" if sec.packed_over else ""
        where += ", streams its input pass by pass" if sec.pass_waits else ""
        rows.append([sec.index, f"{sec.grid[0]}x{sec.grid[1]}", where,
                     f"{sec.slots}/{s.dst_capacity}", " -> ".join(_op_label(o) for o in sec.ops), packs, sec.cycles,
                     sec.cycles * runs])
    note = ("<p class='sub'>cycles per run: one run of the section (one loop trip inside the loop); total cycles: "
            "over all its runs" + (f"; the loop runs {loop.trips} trips" if loop is not None else "")
            + ("; a section a trip ahead computes the next trip's value (the first trip's before the loop, none in "
               "the last trip)" if any(sec.ahead for sec in s.sections) else "") + ".</p>")
    if s.wide_dst_chain is not None:  # the arch section shows the arch's setting; this kernel's DST differs
        note += f"<p class='sub' id='wide-dst'>{escape(wide_dst_line(s))}.</p>"
    cbs = _table(["cb", "role", "tiles", "holds"], [[cb.id, cb.role, cb.tiles, ", ".join(cb.holds)] for cb in s.cbs],
                 {0, 2})
    headers = ["sec", "tiles", "runs", "DST", "ops in order", "packs to", "cycles per run", "total cycles"]
    return ("<h2>Schedule</h2>" + _table(headers, rows, {0, 6, 7}, table_id="schedule") + note
            + "<details><summary>circular buffers</summary>" + cbs + "</details>")


def _breakdown_section(rows: list[dict[str, object]]) -> str:
    cols = ["kind", "section", "grid", "iterations", "trips", "unpack", "math_fpu", "math_sfpu", "pack", "overlapped",
            "sync", "init", "cycles", "bound"]
    body = [[("" if r[c] is None else r[c]) for c in cols] for r in rows]
    return ("<h2>Where the cycles go</h2><p class='sub'>Engine columns are busy cycles over all passes (the three "
            "threads overlap); overlapped + sync + init = cycles; sections and fills add up to compute, data "
            "movement runs beside it and bounds the kernel below; the pipelining row is what running the "
            "sections through the threads together saves.</p>"
            + _table(cols, body, {1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))


def timeline_svg(rows: list[dict[str, object]], width: int = 1100) -> str:
    """One lane per engine; each section a column as wide as its cycles, its busy time drawn in each lane."""
    # sections drawn as if they ran one after another (the pipelining row, negative, is not a column)
    compute = [r for r in rows if r["kind"] not in ("data_movement", "pipelining")]
    dm = next((float(r["cycles"]) for r in rows if r["kind"] == "data_movement"), 0.0)  # type: ignore[arg-type]
    total = max(sum(float(r["cycles"]) for r in compute), dm, 1.0)  # type: ignore[arg-type]
    left, lane_h, top = 90, 22, 24
    lanes = [name for name, _ in LANES] + ["dram/noc"]
    scale = (width - left - 10) / total
    height = top + lane_h * len(lanes) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="timeline" width="{width}" height="{height}" role="img" '
           f'aria-label="engine timeline">']
    for k, name in enumerate(lanes):
        y = top + k * lane_h
        out.append(f'<text x="4" y="{y + 15}">{escape(name)}</text>')
        out.append(f'<line x1="{left}" y1="{y + lane_h}" x2="{width - 10}" y2="{y + lane_h}" stroke="#eee"/>')
    x = float(left)
    for r in compute:
        span = float(r["cycles"]) * scale  # type: ignore[arg-type]
        label = f"S{r['section']}" if r["kind"] == "section" else str(r["kind"])
        if r.get("trips", 1) not in (0, 1):
            label += f" x{r['trips']}"
        out.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{top + lane_h * 5}" stroke="#999" '
                   f'stroke-dasharray="2,2"/>')
        if span > 24:
            out.append(f'<text x="{x + 2:.1f}" y="{top - 8}">{escape(label)}</text>')
        busy = {"sync+init": float(r["sync"]) + float(r["init"])}  # type: ignore[arg-type]
        for k, (name, color) in enumerate(LANES):
            value = busy.get(name, float(r.get(name, 0.0) or 0.0))  # type: ignore[arg-type]
            if value > 0:
                title = f"{label}: {name} {value:,.0f} of {float(r['cycles']):,.0f} cycles"  # type: ignore[arg-type]
                out.append(f'<rect x="{x:.1f}" y="{top + k * lane_h + 3}" width="{max(value * scale, 0.5):.1f}" '
                           f'height="{lane_h - 6}" fill="{color}"><title>{escape(title)}</title></rect>')
        x += span
    y = top + 5 * lane_h
    out.append(f'<rect x="{left}" y="{y + 3}" width="{max(dm * scale, 0.5):.1f}" height="{lane_h - 6}" '
               f'fill="#72b7b2"><title>data movement {dm:,.0f} cycles</title></rect>')
    axis_y = top + lane_h * len(lanes) + 16
    for k in range(6):
        cycles = total * k / 5
        ax = left + cycles * scale
        anchor = "end" if k == 5 else "middle" if k else "start"
        out.append(f'<text x="{ax:.1f}" y="{axis_y}" text-anchor="{anchor}">{cycles:,.0f}</text>')
    out.append("</svg>")
    return "".join(out)


def _alternatives_section(result) -> str:
    alts = list(result.alternatives.values())
    chosen = result.chosen
    rows = [[a.label + (" (chosen)" if a.label == chosen else ""), a.cycles if a.cycles is not None else "-",
             f"{a.cycles / result.cost_cycles:.2f}x" if a.cycles is not None and a.feasible else "-", a.status,
             a.detail] for a in alts]
    drawn = [a for a in alts if a.cycles is not None]
    best = max((float(a.cycles) for a in drawn), default=1.0) or 1.0  # type: ignore[arg-type]
    bars: list[str] = []
    for k, a in enumerate(drawn):
        w = 600 * float(a.cycles) / best  # type: ignore[arg-type]
        color = "#4c78a8" if a.label == chosen else "#bbb" if a.feasible else "none"
        stroke = "" if a.feasible else ' stroke="#a33" stroke-dasharray="4,3"'
        note = "" if a.feasible else " (does not fit L1)"
        bars.append(f'<text x="0" y="{k * 22 + 15}">{escape(a.label)}</text><rect x="90" y="{k * 22 + 3}" '
                    f'width="{w:.1f}" height="16" fill="{color}"{stroke}/><text x="{96 + w:.1f}" y="{k * 22 + 15}">'
                    f'{float(a.cycles):,.0f}{note}</text>')  # type: ignore[arg-type]
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" id="alternatives-chart" width="900" '
           f'height="{len(bars) * 22 + 6}">' + "".join(bars) + "</svg>")
    table = _table(["form", "modeled cycles", "vs chosen", "fits L1", "what it is, or why it does not fit"], rows,
                   {1}, table_id="alternatives")
    return ("<h2>Alternatives considered</h2>" + f"<p>{escape(result.reason)}</p>" + table + svg
            + "<h3>Baseline against chosen</h3>" + _baseline_comparison(result))


def _schedule_rows(arch, *schedules) -> list[list[object]]:
    return [["sections", *(len(s.sections) for s in schedules)], ["CBs", *(len(s.cbs) for s in schedules)],
            ["L1 bytes", *(s.l1_bytes(arch) for s in schedules)],
            ["compute cycles", *(s.compute_cycles for s in schedules)],
            ["data movement cycles", *(s.data_movement_cycles for s in schedules)]]


def _baseline_comparison(result) -> str:
    """Each kernel's chosen schedule beside its own unfused baseline; split over keys, the two kernels each
    against theirs, and the modeled cycles of the user's kernel's baseline against both kernels together."""
    fits = "" if result.baseline_feasible else " (does not fit L1)"
    if result.split is None:
        rows = _schedule_rows(result.arch, result.baseline, result.schedule)
        rows.append(["modeled cycles", result.baseline_cycles, result.cost_cycles])
        return _table(["", "baseline" + fits, "chosen"], rows, {1, 2}, table_id="baseline-comparison")
    split, part, combine = result.split, result.kernel.name, result.split.combine
    rows = _schedule_rows(result.arch, split.part_baseline, result.schedule, combine.baseline, combine.schedule)
    table = _table(["", f"{part} baseline", f"{part} chosen", f"{combine.kernel.name} baseline",
                    f"{combine.kernel.name} chosen"], rows, {1, 2, 3, 4}, table_id="baseline-comparison")
    return (table + f"<p id='split-cycles'>Modeled cycles of the whole computation: {escape(split.kernel.name)}'s "
            f"unfused baseline{fits} {result.baseline_cycles:,.0f}; the split, both kernels, "
            f"{result.cost_cycles:,.0f}.</p>")


def _derivation_section(result, steps: Sequence[Step] | None) -> str:
    user = [rs for rs in result.rulesets if rs.source]
    loaded = ("<p class='sub'>Rules loaded besides the shipped ones: "
              + ", ".join(f"{escape(rs.name)} ({len(rs.rules)} rules, {escape(rs.source)})" for rs in user)
              + "</p>") if user else ""
    if steps is None:
        return ("<h2>Derivation</h2><p class='sub' id='derivation'>Not computed for this report (it re-optimizes "
                "once per rule that matched): <code>tteqsat optimize --report</code> and <code>tteqsat explain</code> "
                "compute it.</p>" + loaded)
    rows = [[n, s.stage, s.rule, rule_identity(s.rule) or s.rewrite, s.matches,
             "nothing fits" if s.change.startswith("fails") else s.change] for n, s in enumerate(steps, 1)]
    matched = sum(1 for st in result.saturation.rules.values() if st.matches)
    intro = ("<p class='sub'>The rules the chosen schedule depends on, in stage order: leaving out any one of them "
             "(and only it) changes the result as the last column says. Found by optimizing the kernel again "
             f"without each of the {matched} rules that matched, one at a time, with the same settings; a rule that "
             "never matched cannot change the result.</p>")
    body = (_table(["#", "stage", "rule", "identity", "matches", "without it"], rows, {0, 4}, table_id="derivation")
            if rows else "<p id='derivation'>No rule: the chosen schedule is the unfused baseline's.</p>")
    return "<h2>Derivation</h2>" + intro + body + loaded


def _arch_section(arch) -> str:
    """Key parameters, and every value that differs from the shipped arch of the same name (overrides)."""
    keys = ["settings.math_fidelity", "settings.fp32_dest_acc", "settings.dst_full_sync", "settings.exp_approx",
            "settings.input_format", "settings.exp_on_pack_thread", "chip.clock_ghz", "l1.bytes", "l1.reserved_base",
            "cb.max_cbs", "dst.tiles_bf16", "dst.tiles_fp32", "unpack.bytes_per_cycle", "pack.cycles_per_tile",
            "pack.l1_acc_cycles_per_tile", "sfpu.exp", "sync.section", "sync.init"]
    shipped = load_arch(arch.name) if arch.name in KNOWN else None
    changed = [k for k in arch.keys() if shipped is not None and k in shipped.keys() and arch[k] != shipped[k]]

    def shown(value: object) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    rows = [[k, shown(arch[k]) + (f" (set; shipped {shown(shipped[k])})" if k in changed and shipped else "")]
            for k in dict.fromkeys(keys + changed) if k in arch.keys()]
    return f"<h2>Arch: {escape(arch.name)}</h2>" + _table(["parameter", "value"], rows, set())


def _grid_section(result: Result) -> str:
    """The chip: how the work items spread over the cores, each core's modeled cycles, the DRAM traffic and
    what bounds the kernel."""
    chip = result.chip
    if chip is None or chip.items <= 1:
        return ""
    counts = chip.per_core_items()
    rows = []
    for count in sorted(set(counts), reverse=True):
        cores = [n for n, c in enumerate(counts) if c == count]
        span = f"{cores[0]}" if len(cores) == 1 else f"{cores[0]}..{cores[-1]}"
        rows.append([span, len(cores), count, round(count * chip.item_cycles), count * chip.item_bytes])
    what = f"row blocks of {result.block} rows" if result.block else "whole batch elements"
    text = (f"{chip.items} work items ({escape(what)}) on {chip.cores} cores; the slowest core's items take "
            f"{chip.core_compute_cycles:,.0f} compute cycles and its last DRAM byte lands at cycle "
            f"{chip.core_data_cycles:,.0f} (at its share of the bandwidth, its reader paced by compute); all items "
            f"move {chip.dram_bytes:,} DRAM bytes ({chip.dram_floor_cycles:,.0f} cycles at the chip's bandwidth). "
            f"Bound by <b>{escape(chip.bound_by)}</b>.")
    if chip.shared > 1:
        text += (f" The cores run in {len(chip.group_runs)} groups of {chip.shared}: one core of each reads the "
                 "inputs every row block reads whole from DRAM and multicasts them to the others over the NoC, "
                 "so the DRAM bytes column counts each core's items as if they read alone.")
        grid = result.schedule.grid
        if grid is not None and grid.ranked:
            text += (" The items visit different chunks (the mask skips some), so the groups are ranked: each run of "
                     "row blocks has one that visits every chunk the others do, the sender multicasts every chunk of "
                     "it to the group, and each core pops those its own block does not visit; the cores take the "
                     "run's dearer blocks in turn.")
    return ("<h2>Grid</h2>" + f"<p class='sub' id='grid'>{text}</p>"
            + _table(["cores", "count", "items each", "compute cycles", "DRAM bytes"], rows, {1, 2, 3, 4},
                     table_id="cores"))


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _split_note(result: Result) -> str:
    """Split over keys: the report shows the first of two kernels; say so and what the second costs."""
    split = result.split
    if split is None:
        return ""
    combine = split.combine
    count = "Two" if not split.merges else str(2 + len(split.merges))
    return (f"<p id='split'>{count} kernels: <b>{escape(result.kernel.name)}</b> (this report) computes each of the "
            f"{split.kv.parts} key parts over {result.items} work items, then <b>{escape(combine.kernel.name)}</b> "
            f"merges the parts by their log-sum-exp in {combine.cost_cycles:,.0f} modeled cycles "
            f"({escape(combine.chosen)})"
            + "".join(f"; before it, <b>{escape(m.kernel.name)}</b> merges groups of {k} parts over {m.items} work "
                      f"items in {m.cost_cycles:,.0f} cycles"
                      for m, k in zip(split.merges, split.kv.fan_ins, strict=False))
            + f"; unsplit, {escape(split.kernel.name)} models "
            f"{split.unsplit_cycles:,.0f} cycles.</p>")


def render_html(result: Result, model: CostModel | None = None, derivation: Sequence[Step] | None = None) -> str:
    """The report as one HTML string; `derivation` (from `tteqsat.tools.rule_stats.derivation_of`) adds the
    rules the result depends on (without it the report says it was not computed)."""
    model = model or TensixCostModel(result.arch)
    explain = getattr(model, "breakdown", None) or TensixCostModel(result.arch).breakdown
    rows = explain(result.schedule)
    k = result.kernel
    clock = result.arch.num("chip.clock_ghz") if "chip.clock_ghz" in result.arch.keys() else 1.0
    head = (f"<h1>{escape(k.name)} on {escape(result.arch.name)} ({escape(k.dtype)})</h1>"
            f"<p class='win' id='headline'>Chose {escape(result.chosen)}. {escape(_sentence(result.comparison()))}.</p>"
            f"<p class='sub'>{result.cost_cycles:,.0f} modeled cycles"
            f"{' of the whole chip' if result.items > 1 else ''} are {result.cost_cycles / clock / 1000:,.2f} us at "
            f"{clock:g} GHz.</p>"
            + _split_note(result)
            + "".join(f"<p class='bad'>note: {escape(n)}</p>" for n in result.warnings))
    timeline = ("<h2>Engine timeline</h2><p class='sub'>Sections run one after another; inside one, unpack, math and "
                "pack overlap, FPU and SFPU share the math thread. Data movement runs beside compute.</p>"
                + timeline_svg(rows))
    body = (head + _kernel_section(k) + _grid_section(result) + _schedule_section(result) + _breakdown_section(rows)
            + timeline
            + _alternatives_section(result) + _derivation_section(result, derivation) + _arch_section(result.arch))
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>tteqsat: {escape(k.name)}</title>"
            f"<style>{CSS}</style></head><body>{body}</body></html>\n")


def write_html_report(result: Result, path: str | Path, model: CostModel | None = None,
                      derivation: Sequence[Step] | None = None) -> Path:
    """Write the report for `result` to `path`; `model` explains the cost (default model), `derivation` adds
    the rules the result depends on."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result, model, derivation))
    return out


report_option_hook = write_html_report  # for `tteqsat optimize --report PATH.html`
