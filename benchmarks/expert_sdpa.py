"""The hand-written tt-metal SDPA schedules, written as tteqsat programs so the same model prices them.

Per k chunk, following shared/reference/tenstorrent.md section 3: every helper of the 2024 kernel is
its own DST pass with its result in a CB (S = QK^T; S *= scale; rowmax; P = exp(S - m) as one
sub_bcast + exp pass; rowsum; P @ V), then the online correction of l and O; after the loop 1/l and
O * 1/l. The 2025 kernel folds the scale into exp (no scale pass, running max unscaled).

The 2025 kernel also sums rows by packer L1 accumulation in the exp pass with the within-tile sum after
the loop (modeled: `tilesum`, then a reduce where tt-metal uses a ones-matmul). It seeds the running max
into DST before reduce_tile with a within-face transpose copy; tteqsat's loops compute the running max as a
reduce into a clear slot and an SFPU max, for both variants. Both pack P over S in one CB, as tt-metal's
`qk_im` (sdpa_program_factory.cpp: qk_tiles = Sq_chunk_t * Sk_chunk_t; `scheduling/in_place.py`, applied to every
program in order since session 15), and hold K and V two chunks deep or more (k_tiles = Sk_chunk_t * DHt * 2,
"double buffer"; three where L1 has room, `build._deepen_streams`, as before). Not modeled: pack-accumulate of the O
correction, first-column SFPU ops on statistics. Loop state updates use tteqsat's own (fused)
layout for both variants, which favours the expert.
"""

from __future__ import annotations

from tteqsat.extraction.program import HwOp, Program, fpu_bcast


def bcast_cols(op: str, x: HwOp, col: HwOp) -> HwOp:
    """tt-metal's `<op>_tiles_bcast_cols(x, col)`: one FPU op per tile, x on SrcA and the column tile broadcast on
    SrcB. TTKernel has no bcast binary op; its closest form with the same per-tile work is `add/sub/mul_tiles` against
    a broadcast tile per tile row (hw_fpu_bcast), which costs one unary_bcast per tile row more than tt-metal's
    op. Where x is one tile wide, a broadcast into DST and a dest-reuse op, as before."""
    tiled = fpu_bcast(op, x, col)
    if tiled is not None:
        return tiled
    return HwOp("reuse", op, (HwOp("bcast", "cols", (col,), x.shape, {"n": x.shape[1]}), x), x.shape,
                {"reuse": "srcb"})


def expert_program(q_rows: int, keys: int, d: int, chunk: int, scale: float, dtype: str = "bf16",
                   variant: str = "2024") -> Program:
    """The expert's per-chunk pipeline for one q block, as a program with one online loop."""
    trips = keys // chunk
    q = HwOp("input", "input", (), (q_rows, d), {"name": "q"})
    k = HwOp("input", "input", (), (keys, d), {"name": "k"})
    v = HwOp("input", "input", (), (keys, d), {"name": "v"})
    kc = HwOp("chunk", "chunk", (k,), (chunk, d), {"axis": "rows", "width": chunk, "name": "k"})
    vc = HwOp("chunk", "chunk", (v,), (chunk, d), {"axis": "rows", "width": chunk, "name": "v"})
    s_shape, col = (q_rows, chunk), (q_rows, 1)
    scores = HwOp("matmul", "matmul", (q, kc), s_shape, {"transpose_b": 1})                   # matmul_blocks
    if variant == "2024":
        reloaded = HwOp("copy", "copy", (scores,), s_shape)
        scores = HwOp("scalar", "mul_s", (reloaded,), s_shape, {"s": scale})                  # mul_block_bcast_scalar
        exp_scale = 1.0
    else:
        exp_scale = scale                                                                       # scale folded into exp
    m_chunk = HwOp("reduce", "rowmax", (scores,), col, {"s": 1.0})                               # reduce_c<MAX>
    m_run = HwOp("running_max", "running_max", (m_chunk,), col, {"trips": trips})                # max_block
    shifted = bcast_cols("sub", scores, m_run)                                                    # sub_bcast_cols
    p = HwOp("exp_scaled", "exp", (shifted,), s_shape, {"s": exp_scale})                         # + exp, same pass
    if variant == "2024":
        l_chunk = HwOp("reduce", "rowsum", (p,), col, {"s": 1.0})                                # reduce_c<SUM>
        l_shape = col
    else:  # row sums by packer L1 accumulation in the exp pass; the within-tile sum after the loop
        l_chunk = HwOp("tilesum", "tilesum", (p,), (q_rows, 32))
        l_shape = (q_rows, 32)
    o_chunk = HwOp("matmul", "matmul", (p, vc), (q_rows, d), {"transpose_b": 0})                 # matmul_blocks
    o = HwOp("online_sum", "online_sum", (o_chunk, m_chunk), (q_rows, d), {"s": exp_scale, "trips": trips})
    l_sum = HwOp("online_sum", "online_sum", (l_chunk, m_chunk), l_shape, {"s": exp_scale, "trips": trips})
    if variant != "2024":
        l_sum = HwOp("reduce", "rowsum", (l_sum,), col, {"s": 1.0})                              # matmul_reduce
    inv = HwOp("sfpu", "recip", (HwOp("copy", "copy", (l_sum,), col),), col)                    # recip_block_inplace
    out = bcast_cols("mul", o, inv)                                                              # mul_block_bcast_cols
    # tt-metal's SDPA acquires DST once per tile row of its q chunk: keep that (no row batching)
    return Program("expert_sdpa", dtype, [q, k, v], [("out", out)], one_row_per_pass=True, in_order=True)
