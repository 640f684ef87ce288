"""Human-readable views of a result: the schedule table and the one-screen summary."""

from __future__ import annotations

from tteqsat.extraction.accumulation import MAX_BF16_DST_CHAIN
from tteqsat.pipeline import Result
from tteqsat.scheduling.model import DstSection, Schedule
from tteqsat.tools.console import console_for


def _ops_text(sec: DstSection) -> str:
    names = []
    for op in sec.ops:
        label = op.op if op.kind not in ("copy", "matmul", "transpose") else op.kind
        if op.kind == "matmul" and op.attrs.get("transpose_b"):
            label = "matmul(b.T)"
        if op.kind == "exp_scaled":
            label = f"exp({op.attrs['s']:g}*x)"
        if op.attrs.get("accurate") and label.startswith("exp"):  # not the approximate exp (extraction.exp_range)
            label = label[:-1] + ", accurate)" if label.endswith(")") else "exp(accurate)"
        if op.kind == "reuse":
            label = f"{op.op}(dest_reuse)"
        if op.kind == "fpu" and op.attrs.get("bcast"):
            label = f"{op.op}(bcast {op.attrs['bcast']} tile)"
        names.append(label)
    return " -> ".join(names)


SCHEDULE_COLUMNS = (("sec", "right"), ("tiles", "right"), ("per acq", "right"), ("ops", "right"), ("DST", "right"),
                    ("ops in order", "left"), ("packs to", "left"), ("cycles per run", "right"),
                    ("total cycles", "right"))


def trips_of(result: Result, sec: DstSection) -> int:
    """How often a section runs: the loop's trips inside the loop, once outside it."""
    loop = result.schedule.loop
    return loop.trips if sec.in_loop and loop is not None else 1


def schedule_rows(result: Result) -> list[list[str]]:
    """One row per DST section; `cycles per run` is one run (one loop trip), `total cycles` all of them."""
    rows = []
    cbs = {cb.id: cb for cb in result.schedule.cbs}
    for sec in result.schedule.sections:
        packs = ", ".join(f"cb{p.cb}({cbs[p.cb].role[:3]})" for p in sec.packs)
        trips = trips_of(result, sec)
        per_acquire = f"{sec.rows}x{sec.width}" if sec.rows > 1 else str(sec.width)  # tile rows x tiles of a row
        rows.append([str(sec.index), f"{sec.grid[0]}x{sec.grid[1]}" + (f" x{trips}" if trips > 1 else "")
                     + (" ahead" if sec.ahead else "") + (" interleaved" if sec.interleaved else "")
                     + (" row waits" if sec.row_waits else "") + (" packs over" if sec.packed_over else "")
                     + (" streams input" if sec.pass_waits else ""),
                     per_acquire, str(len(sec.ops)), f"{sec.slots}/{result.schedule.dst_capacity}",
                     _ops_text(sec), packs, f"{sec.cycles:,.0f}", f"{sec.cycles * trips:,.0f}"])
    return rows


def render(result: Result, console=None) -> None:
    """Print the schedule table and the cost against the best other form that fits (rich on a terminal,
    plain otherwise)."""
    from rich.markup import escape
    from rich.table import Table

    console = console or console_for()
    s = result.schedule
    table = Table(title=f"{result.kernel.name} on {result.arch.name} ({result.kernel.dtype})", title_justify="left")
    for col, just in SCHEDULE_COLUMNS:
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in schedule_rows(result):
        table.add_row(*row)
    console.print(table)
    if s.wide_dst_chain is not None:
        console.print(wide_dst_line(s))
    streaming = [sec for sec in s.sections if sec.pass_waits]
    for sec in streaming:
        names = ", ".join(a.name for a in s.args if a.role == "in" and any(a.cb == cb for cb, _ in sec.pass_waits))
        console.print(f"section {sec.index} (marked streams input) reads {names} pass by pass through a CB of "
                      f"{s.cbs[sec.pass_waits[0][0]].tiles} tiles, waiting for each pass's tiles and popping them "
                      "after: the whole input would not fit L1 beside the rest")
    waiting = [str(sec.index) for sec in s.sections if sec.row_waits]
    if waiting:
        console.print(f"section {', '.join(waiting)} (marked row waits) waits for a value it alone reads one row block "
                      "at a time, popping each after its passes, so it starts while the value's later rows are packed")
    if s.loop:
        streams = ", ".join(f"{st.name} by {st.axis} of {st.width}" for st in s.loop.streams)
        console.print(f"streaming loop: {s.loop.trips} trips ({streams}); sections marked x{s.loop.trips} run "
                      f"every trip (cycles per run is one trip, total cycles all {s.loop.trips}); state "
                      f"{', '.join(f.name for f in s.loop.fills)} in ping-pong CBs")
        single = [st.name for st in s.loop.streams if s.chunks_held(st) == 1]
        if single:
            which = f"stream {single[0]} holds" if len(single) == 1 else f"streams {', '.join(single)} hold"
            console.print(f"{which} one chunk in L1 (two would not fit beside the rest): the reader fetches a trip's "
                          "chunk once compute has popped the chunk before")
        over = [str(sec.index) for sec in s.sections if sec.packed_over]
        if over:
            console.print(f"section {', '.join(over)} (marked packs over) packs its value into the CB of the value it "
                          "reads, popping each pass's tiles after their unpacks: one value's pages, not two; the loop "
                          "runs in program order")
        ahead = [str(sec.index) for sec in s.sections if sec.ahead]
        if ahead:
            where = "in the trips that skip the mask " if s.loop.live is not None else ""
            console.print(f"section {', '.join(ahead)} (marked ahead) runs one trip ahead {where}(software "
                          "pipelining): trip t computes trip t+1's value after the last section that reads trip t's, "
                          "so its work fills the waits of the sections after it; the first trip's runs before the loop")
        paired = [sec for sec in s.sections if sec.interleaved]
        if paired:
            console.print(f"section {', '.join(str(sec.index) for sec in paired)} (marked interleaved) runs its passes "
                          "alternately with the section before it, in one loop nest: each pass its own acquire, the "
                          "packer draining one while math fills the other")
        if s.loop.live is not None:
            spans = [s.loop.range(b) for b in range(s.blocks)]
            live = sum(max(hi - lo, 0) for lo, hi in spans) / len(spans)
            masked = sum(max(hi - lo, 0) - s.loop.unmasked(b) for b, (lo, hi) in enumerate(spans)) / len(spans)
            tiles = (f"; those compute only their live tiles ({sum(s.loop.ragged_saving) / len(spans):,.0f} cycles "
                     "saved per item)" if s.loop.ragged is not None else "")
            console.print(f"mask {s.loop.live[0]}: an item's loop runs the chunks live for its rows, "
                          f"{live:.1f} of {s.loop.trips} on average, {masked:.1f} of them applying the mask{tiles}")
    console.print(f"{sections_line(result)} | e-graph {result.saturation.enodes} e-nodes, {result.eclasses} e-classes")
    grid_line = chip_line(result)
    launch = f", launch {result.chip.launch_cycles:,.0f}" if result.chip and result.chip.launch_cycles else ""
    if grid_line:
        console.print(grid_line)
        console.print(f"{result.comparison()}; one work item on one core: compute {s.compute_cycles:,.0f}, "
                      f"data movement {s.data_movement_cycles:,.0f}{launch}")
    else:
        console.print(f"{result.comparison()}; the whole kernel: compute {s.compute_cycles:,.0f}, "
                      f"data movement {s.data_movement_cycles:,.0f}{launch}")
    if result.reason:
        console.print(escape(result.reason))
    if result.split:
        combine = result.split.combine
        for merge, k in zip(result.split.merges, result.split.kv.fan_ins, strict=False):
            console.print(f"then {merge.kernel.name}: {merge.cost_cycles:,.0f} modeled cycles over {merge.items} "
                          f"work item{'s' if merge.items > 1 else ''}, each merging {k} parts into one by their "
                          f"log-sum-exp ({merge.chosen})")
        console.print(f"then {combine.kernel.name}: {combine.cost_cycles:,.0f} modeled cycles over {combine.items} "
                      f"work item{'s' if combine.items > 1 else ''}, merging the {result.split.kv.parts} parts' "
                      + (f"outputs ({result.split.kv.fan_ins[-1]} merged groups) " if result.split.merges
                         else "outputs ")
                      + f"by their log-sum-exp ({combine.chosen}); unsplit: "
                      f"{result.split.unsplit_cycles:,.0f} cycles")
    for note in result.warnings:
        console.print(f"note: {escape(note)}")


def wide_dst_line(s: Schedule) -> str:
    """Why a bf16 kernel runs with 32-bit DST (`extraction.accumulation`)."""
    chain = s.wide_dst_chain
    assert chain is not None
    where = f" ({chain.loc})" if chain.loc else ""
    return (f"32-bit DST (fp32_dest_acc_en): its {chain.label}{where} adds {chain.tiles} tiles into one DST slot, "
            f"more than the {MAX_BF16_DST_CHAIN} a 16-bit DST accumulates within bf16's tolerance (each add rounded "
            f"to bf16); DST then holds {s.dst_capacity} tiles per acquire")


def sections_line(result: Result) -> str:
    """Sections against the unfused baseline's of the same kernel, with the kernel's CBs and L1; split over keys,
    one part per kernel (the parts' and the combining one), each against its own baseline."""
    def one(r: Result, baseline_sections: int) -> str:
        s = r.schedule
        return (f"sections {len(s.sections)} (baseline {baseline_sections}) | CBs {len(s.cbs)} | "
                f"L1 {r.l1_bytes:,} B")

    if result.split is None:
        return one(result, len(result.baseline.sections))
    combine = result.split.combine
    return (f"{result.kernel.name}: {one(result, len(result.split.part_baseline.sections))}; "
            f"{combine.kernel.name}: {one(combine, len(combine.baseline.sections))}")


def chip_line(result: Result) -> str:
    """The grid in one line: work items, how they spread over cores, each core's cycles, the DRAM traffic and
    what bounds the kernel; empty for a kernel of one work item on one core."""
    chip = result.chip
    if chip is None or chip.items <= 1:
        return ""
    rows = f"row blocks of {result.block}" if result.block else "whole batch elements"
    counts = chip.per_core_items()
    split = (f"{chip.items_per_core} each" if len(set(counts)) == 1
             else f"{max(counts)} on the first {counts.count(max(counts))}, {min(counts)} on the rest")
    grid = int(result.arch.num("chip.grid_rows") * result.arch.num("chip.grid_cols"))
    return (f"grid: {chip.items} work items ({rows}) on {chip.cores} of {grid} cores, {split}; "
            f"slowest core {chip.core_compute_cycles:,.0f} compute cycles, its last DRAM byte at cycle "
            f"{chip.core_data_cycles:,.0f} (at its share of DRAM, its reader paced by compute); "
            f"{chip.dram_bytes:,} DRAM bytes "
            f"({chip.dram_floor_cycles:,.0f} cycles at the chip's bandwidth); bound by {chip.bound_by}: "
            f"{chip.cycles:,.0f} cycles with {chip.launch_cycles:,.0f} of launch = {chip.microseconds:,.1f} us at "
            f"{chip.clock_ghz:g} GHz")
