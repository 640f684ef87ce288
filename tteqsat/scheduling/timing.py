"""A schedule's sections as pipeline stages for the cost model (cost.timeline): which earlier section each
one waits for, and for how many of its passes.

A section that reads a CB waits for the section that last packed into it (in the same trip, the previous
trip for loop state, or the part before the loop) until the tiles its first pass reads are packed: a row
reduction waits for a whole row of its producer, an elementwise reader for one pass, a tile summed by L1
accumulation for the last pass of its row.
"""

from __future__ import annotations

from bisect import bisect_left

from tteqsat.cost.model import CostModel
from tteqsat.cost.timeline import Need, Stage
from tteqsat.scheduling.model import DstSection

Part = list[tuple[int, DstSection]]  # (index in its part, section)


def _first_pass_reads(consumer: DstSection) -> dict[int, int]:
    """CB -> the highest tile index the consumer's first pass reads from it."""
    reads: dict[int, int] = {}
    for op in consumer.ops:
        for r in op.reads:
            top = r.cj * (consumer.width - 1) + r.ck * (max(op.inner, 1) - 1)
            reads[r.cb] = max(reads.get(r.cb, 0), top)
    return reads


def _passes_for_tile(producer: DstSection, cb: int, tile: int) -> int:
    """Passes of `producer` that must be packed before tile `tile` of what it packed into `cb` is final."""
    cols = producer.grid[1]
    per_row = max(1, cols // producer.width)
    if any(p.cb == cb and p.accumulate for p in producer.packs):  # one tile per row, summed over the row
        return min(producer.iterations, (tile + 1) * per_row)
    row, col = divmod(tile, cols)
    return min(producer.iterations, row * per_row + col // producer.width + 1)


def _packers(part: Part) -> dict[int, list[int]]:
    """CB -> positions (in order) of the part's sections that pack into it."""
    out: dict[int, list[int]] = {}
    for n, sec in part:
        for cb in sorted({p.cb for p in sec.packs}):
            out.setdefault(cb, []).append(n)
    return out


def _needs(consumer: DstSection, here: str, position: int, parts: dict[str, Part],
           packers: dict[str, dict[int, list[int]]]) -> tuple[Need, ...]:
    """The consumer's waits, looking for each CB's last producer: earlier in its own part, then (in the loop)
    later in the body (the previous trip), then in the parts before."""
    order = {"pre": [("pre", True)], "body": [("body", True), ("prev", False), ("pre", False)],
             "post": [("post", True), ("body", False), ("pre", False)]}[here]
    needs: list[Need] = []
    for cb, tile in sorted(_first_pass_reads(consumer).items()):
        for label, earlier_only in order:
            part = "body" if label == "prev" else label
            positions = packers[part].get(cb, [])
            if earlier_only:
                found = positions[: bisect_left(positions, position)]
            elif label == "prev":
                found = positions[bisect_left(positions, position):]
            else:
                found = positions
            if found:
                n = found[-1]
                needs.append(Need(label, n, _passes_for_tile(parts[part][n][1], cb, tile)))
                break
    return tuple(needs)


def stages(model: CostModel, sections: list[DstSection]) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """The sections before, inside and after the loop as stages with their waits."""
    parts: dict[str, Part] = {"pre": [], "body": [], "post": []}
    seen_loop = False
    for sec in sections:
        if sec.in_loop:
            seen_loop = True
            parts["body"].append((len(parts["body"]), sec))
        else:
            key = "post" if seen_loop else "pre"
            parts[key].append((len(parts[key]), sec))
    packers = {here: _packers(part) for here, part in parts.items()}
    out: dict[str, list[Stage]] = {}
    for here, part in parts.items():
        out[here] = [model.stage(sec, _needs(sec, here, n, parts, packers)) for n, sec in part]
    return out["pre"], out["body"], out["post"]


def compute_cycles(model: CostModel, sections: list[DstSection], trips: int = 0, fill_tiles: int = 0) -> float:
    """Compute cycles of `sections` (loop sections run `trips` times) after `fill_tiles` constant fills."""
    pre, body, post = stages(model, sections)
    if fill_tiles:  # the fills run first: every wait on a pre-loop stage moves one index down
        pre, body, post = ([_shift(s) for s in part] for part in (pre, body, post))
        pre.insert(0, model.fill_stage(fill_tiles))
    return model.pipelined(pre, body, trips, post)


def _shift(stage: Stage) -> Stage:
    """The stage with its waits on pre-loop stages renumbered past a stage put in front of them."""
    needs = tuple(Need(n.part, n.index + 1, n.passes) if n.part == "pre" else n for n in stage.needs)
    return Stage(stage.passes, stage.unpack, stage.math, stage.pack, stage.setup_unpack, stage.setup_math,
                 stage.setup_pack, needs)
