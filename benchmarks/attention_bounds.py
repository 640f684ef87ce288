"""Honest lower bounds for attention, softmax(q k^T s) v with Sq = Sk = S keys, head dim d, bf16.

Per core, one q block of `rows` rows (what one work item costs on one core), each term a floor no schedule
of any form can beat on the calibrated model:
  math    the matmul tile MACs (2 rows/32 x S/32 x d/32) at the matmul cost per tile MAC, plus one exp per
          score tile unless exp may be issued from the pack thread (settings.exp_on_pack_thread)
  unpack  one SrcA tile per tile MAC at the unpacker's peak rate (llk_unpack_AB_matmul)
  pack    the score tiles P and the output once (and the exps, when they run on the pack thread)
  dram    q, k, v and the output at this core's share of the chip's sustained DRAM rate with every core
          of the grid streaming its own (the chip model's rate for bf16 pages)
`op_floor` is a tighter per-core floor on the compute threads: the work every program of tteqsat's op forms must
do (the MACs and, per score tile, an exp, a row max step, a subtract, two packs and the row sum; per trip the online
rescale), each op at its cheapest form's price.
On the chip (B x H heads over the grid): the launch plus the larger of the compute floor spread evenly over
every core (the slowest core does at least its share) and the DRAM floor: q, k, v and the output read or
written once (K and V shared by every q block of a head) at the sustained rate.
"""

from __future__ import annotations

from tteqsat.arch import Arch
from tteqsat.cost import TensixCostModel
from tteqsat.cost.chip import GridShape
from tteqsat.cost.engines import Engines
from tteqsat.extraction.program import HwOp


def tile_macs(rows: int, keys: int, d: int) -> int:
    return 2 * (rows // 32) * (keys // 32) * (d // 32)


def core_bound(rows: int, keys: int, d: int, arch: Arch, model: TensixCostModel) -> dict[str, float]:
    """Per-core floors of one `rows`-row q block against `keys` keys; `bound` is their maximum, `compute`
    the maximum without DRAM."""
    macs = tile_macs(rows, keys, d)
    score_tiles = (rows // 32) * (keys // 32)
    exp = model.sfpu_cycles("exp")
    on_pack = arch.exp_on_pack_thread
    peak = max(arch.num("unpack.peak_bytes_per_cycle"), arch.num("unpack.bytes_per_cycle"))
    tile = arch.tile_bytes("bf16")
    grid = GridShape.of(arch)
    moved = (2 * rows * d + 2 * keys * d) // 1024 * tile
    out = {"math": macs * arch.num(f"matmul.{arch.math_fidelity}") + (0 if on_pack else score_tiles * exp),
           "unpack": macs * tile / peak,
           "pack": (score_tiles + (rows // 32) * (d // 32)) * model.pack + (score_tiles * exp if on_pack else 0),
           "dram": moved / (grid.dram_rate(tile) / grid.cores)}
    out["compute"] = max(out["math"], out["unpack"], out["pack"])
    out["bound"] = max(out["compute"], out["dram"])
    return out


def chip_bound(batch: int, heads: int, s: int, d: int, arch: Arch, model: TensixCostModel) -> dict[str, float]:
    """The whole attention's floors on the chip: `compute` (every core equally busy at the per-core
    compute floor), `dram` (each tensor moved once) and `bound` = launch + their maximum."""
    grid = GridShape.of(arch)
    per_block = core_bound(32, s, d, arch, model)["compute"]  # the compute floor is linear in the q rows
    compute = batch * heads * (s // 32) * per_block / grid.cores
    tile = arch.tile_bytes("bf16")
    dram = batch * heads * 4 * s * d // 1024 * tile / grid.dram_rate(tile)
    return {"compute": compute, "dram": dram, "launch": grid.launch_cycles,
            "bound": grid.launch_cycles + max(compute, dram)}


SCORE_TILE = (32, 32)


def _tile(shape: tuple[int, int] = SCORE_TILE) -> HwOp:
    return HwOp("input", "input", (), shape, {"name": "x"})


def _min_by_thread(*forms: Engines) -> tuple[float, float]:
    """The cheapest math-thread and the cheapest unpack-thread cycles over alternative op forms of one value (each
    thread's minimum may come from a different form: a floor, not a price)."""
    return min(e.math for e in forms), min(e.unpack_thread for e in forms)


def _cheapest_line(lines: list[tuple[float, float]]) -> float:
    """min over x in [0, 1] of max_i (a_i + b_i x): a mixture of two op forms taken per tile (x the fraction of
    tiles in the second form), each thread a line in x; the minimum of their maximum (a convex function) lies at
    an end or where two lines cross."""
    xs = {0.0, 1.0}
    for (a1, b1), (a2, b2) in ((p, q) for p in lines for q in lines if p[1] != q[1]):
        x = (a2 - a1) / (b1 - b2)
        if 0.0 < x < 1.0:
            xs.add(x)
    return min(max(a + b * x for a, b in lines) for x in xs)


def op_floor(rows: int, keys: int, d: int, arch: Arch, model: TensixCostModel, chunk: int) -> dict[str, float]:
    """The work every program built from tteqsat's op forms must do for one `rows`-row q block of attention
    against `keys` keys, streaming `chunk` keys a trip (chunk >= keys: one trip, the fused form), per thread,
    priced by the model's own per-op costs (`op_tile`, `matmul_pass`'s per-tile-MAC rates). `floor` is the
    cheapest program's busiest thread: a schedule on the model can be no faster, whatever its sections, order or
    overlap; `math`, `unpack` and `pack` are each thread's own floor with the row sum on another thread (and the
    exps on math, or with settings.exp_on_pack_thread on pack, though a program may split them). Where a value has
    several op forms each thread takes its cheapest form separately, and where one form moves work from a thread to
    another (the row sum) the floor takes the best mixture of them.

    Per score tile (n = rows/32 x keys/32 of them), unavoidable in every form:
      MACs      its share of Q K^T and P V: 2 d/32 tile MACs at matmul.<fidelity> on math; unpack one tile per
                tile MAC on the busier unpacker at the model's rate (`matmul_pass`: whatever the block shape, one
                operand is unpacked for every output tile and K step)
      exp       P = exp(s (S - m)): one exp_scaled (the approximate exp: its argument is <= 0) on the SFPU, from
                the math thread (or the pack thread with settings.exp_on_pack_thread)
      row max   reduce_tile rowmax, the only form that reduces across a tile's columns (rules/hardware.py
                reduce-fpu; SFPU max is elementwise): math fpu.reduce_max, unpack the S tile (the scaler on
                the other unpacker beside it)
      subtract  S - bcast(m), cheapest math form (sub_tiles against the broadcast tile, or dest reuse: fpu.sub;
                SFPU sub costs sfpu.binary). Unpack: one tile, the S tile. S must sit in a CB (the row max reads it
                with reduce_tile) and the subtract needs the max of S's whole chunk row, so it runs in a later
                DST section than the one that computed S, where S is only in its CB: every form reads it by an
                unpack (its CB operand, or copy_tile into DST for dest reuse or SFPU), or recomputes it with d/32
                more tile MACs
      packs     S (reduce_tile reads it from a CB) and P (P V's matmul reads it from a CB), once each
      row sum   reduce_tile rowsum (math fpu.reduce_sum x fidelity phases, unpack the P tile) or the packer's L1
                accumulation (tilesum: pack.l1_acc_cycles_per_tile); the best mixture of the two
    Per trip after the first (trips - 1 = keys/chunk - 1; r = rows/32 tile rows, o = r d/32 output tiles), what the
    online update needs (rules/streaming.py online-*, extraction/loops.py):
      running max  r SFPU max (binary max has no FPU form; loops.py: seeding reduce_tile with the old max is no
                   max on the hardware)
      rescale      alpha = exp(s (m_old - m_new)): r subtracts at their cheapest (fpu.sub) and r accurate exps
                   (loops.py: the approximate exp(0) is 0.98); O alpha and l alpha: o + r multiplies at their
                   cheapest (broadcast-tile or dest-reuse mul: fpu.mul x fidelity phases)
      state        O, m and l read from their CBs (unpack o + 2r) and packed (o + 2r)
    Once: the output normalised (r recips and o multiplies, at least: SFPU div per tile costs more) and packed (o).
    The streaming form without an online rescale (the final max first, then the sums: a second Q K^T over every
    chunk) is priced too and the cheaper of the two taken.

    Left out, though every schedule tteqsat builds pays them (so the floor stays below every achievable program):
    the add of P V onto the rescaled O (the matmul may accumulate onto it in DST) and of the row sum onto l (the
    packer's L1 accumulation adds it), copies of the states into DST, DST handshakes (`sync.section`) and init
    sites (`sync.init`), math's waits for the unpacker inside a pass, and the K/V reads."""

    if any(v <= 0 or v % 32 for v in (rows, keys, d, chunk)) or (chunk < keys and keys % chunk):
        raise ValueError(f"op_floor needs whole tiles and a chunk dividing the keys: rows {rows}, keys {keys}, "
                         f"d {d}, chunk {chunk}")
    on_pack = arch.exp_on_pack_thread
    r, o = rows // 32, (rows // 32) * (d // 32)
    n = r * (keys // 32)  # score tiles
    trips = max(1, keys // chunk)
    qk_macs = r * (keys // 32) * (d // 32)  # as many in P V
    u16, u_in = model.unpack_tile("bf16"), model.unpack_tile(model.input_format("bf16"))
    mac = model.matmul_pass(1, 1, 1).math
    tile, col = _tile(), _tile((32, 1))
    bcast = HwOp("bcast", "cols", (col,), SCORE_TILE, {"n": 32})

    def op(kind: str, name: str, operands: tuple[HwOp, ...], shape: tuple[int, int] = SCORE_TILE,
           **attrs: object) -> Engines:
        return model.op_tile(HwOp(kind, name, operands, shape, dict(attrs)))

    def binary(name: str, shape: tuple[int, int]) -> tuple[float, float]:
        """An elementwise op of S (or O, or a statistic) and a broadcast value: FPU against a broadcast tile, dest
        reuse, or SFPU with the CB operand copied into DST."""
        x = _tile(shape)
        return _min_by_thread(op("fpu", name, (x, bcast), shape, bcast="cols"),
                              op("reuse", name, (x, x), shape, reuse="srca"),
                              op("sfpu2", name, (x, x), shape) + op("copy", "copy", (x,), shape))

    exp = op("exp_scaled", "exp", (tile,), s=1.0)
    row_max = op("reduce", "rowmax", (tile,), (32, 1))
    sub_math, sub_unpack = binary("sub", SCORE_TILE)
    sum_reduce, sum_pack = op("reduce", "rowsum", (tile,), (32, 1)), op("tilesum", "sum", (tile,)).pack
    # per trip after the first, and once
    running_max = op("sfpu2", "max", (col, col), (32, 1)).math
    alpha_exp = op("exp_scaled", "exp", (col,), (32, 1), s=1.0, accurate=1)
    alpha_sub = binary("sub", (32, 1))[0]
    mul_math = binary("mul", SCORE_TILE)[0]
    recip = op("sfpu", "recip", (col,), (32, 1)).math

    def threads(online: bool) -> dict[str, float]:
        """exps, math (without them), unpack and pack of the online form, or of the two-pass one (`online` False:
        the final max first, then Q K^T again with the subtract in DST after it), the row sum left out."""
        per_trip = r * running_max + (r * alpha_sub + (o + r) * mul_math if online else 0.0)
        macs = 2 * qk_macs if online else 3 * qk_macs
        return {"exp": n * exp.math + ((trips - 1) * r * alpha_exp.math if online else 0.0),
                "math": macs * mac + n * (row_max.math + sub_math) + (trips - 1) * per_trip
                + r * recip + o * mul_math,
                "unpack": qk_macs * u_in + qk_macs * min(u_in, u16) + (qk_macs * u_in if not online else 0.0)
                + n * (row_max.unpack_thread + (sub_unpack if online else 0.0)) + (trips - 1) * (o + 2 * r) * u16,
                "pack": (2 * n + (trips - 1) * (o + 2 * r) + o) * model.pack}

    best: dict[str, float] | None = None
    for online in (True, False) if trips > 1 else (True,):
        t = threads(online)
        exps = t["exp"]
        rows_sum = (n * sum_reduce.math, n * sum_reduce.unpack_thread, -n * sum_pack)  # x = fraction by reduce
        base = (t["math"], t["unpack"], t["pack"] + n * sum_pack)
        lines = [(base[1], rows_sum[1])]
        if on_pack:  # each exp on the math or the pack thread: the busier of the two takes half their sum
            lines += [(base[0], rows_sum[0]), (base[2], rows_sum[2]),
                      ((base[0] + base[2] + exps) / 2, (rows_sum[0] + rows_sum[2]) / 2)]
        else:
            lines += [(base[0] + exps, rows_sum[0]), (base[2], rows_sum[2])]
        floor = _cheapest_line(lines)
        if best is None or floor < best["floor"]:
            best = {"math": t["math"] + (0.0 if on_pack else exps), "unpack": t["unpack"],
                    "pack": t["pack"] + (exps if on_pack else 0.0), "floor": floor}
    assert best is not None
    return best
