"""Schedule -> TTKernel MLIR module (generic op form): reader, compute and writer functions.

The format is pinned in docs/mlir-subset.md; op names and operand orders follow tt-mlir's
TTKernelOps.td. Only the compute function is written here; the dataflow threads come from
`tteqsat.lowering.dataflow`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from dataclasses import dataclass

from tteqsat.errors import KernelError
from tteqsat.frontend.masks import Mask
from tteqsat.lowering.dataflow import (
    ITEM_ARGS,
    ItemTiles,
    LiveChunks,
    StreamBinding,
    TensorBinding,
    WorkItems,
    emit_reader,
    emit_writer,
)
from tteqsat.lowering.item_index import (
    block_of,
    full_range,
    item_number,
    live_range,
    live_tiles,
    mask_tile,
    ranked_padding,
    ranked_widest,
)
from tteqsat.mlir_text.argspec import ArgEntry, ArgSpec
from tteqsat.scheduling.interleave import nest
from tteqsat.scheduling.lookahead import trip_order
from tteqsat.scheduling.model import (
    FPU_KINDS,
    FULL_INIT_KINDS,
    DstSection,
    LoopInfo,
    Schedule,
    SectionOp,
    TileRead,
    read_ahead,
    switches,
)

SFPU_BINARY = {"add": "add_binary_tile", "sub": "sub_binary_tile", "mul": "mul_binary_tile",
               "div": "div_binary_tile", "max": "binary_max_tile", "min": "binary_min_tile"}
SFPU_UNARY = {"neg": "negative_tile"}
SCALAR_OP = {"add_s": "add_unary_tile", "mul_s": "mul_unary_tile", "rsub_s": "add_unary_tile",
             "rdiv_s": "mul_unary_tile"}
BCAST = {"cols": "col", "rows": "row", "scalar": "scalar"}
REDUCE = {"rowmax": ("reduce_max", "reduce_dim_row"), "rowsum": ("reduce_sum", "reduce_dim_row"),
          "colmax": ("reduce_max", "reduce_dim_col"), "colsum": ("reduce_sum", "reduce_dim_col")}


def f32_bits(x: float) -> int:
    """The fp32 bit pattern as a signed i32, how TTKernel passes float parameters. A value beyond fp32's range
    (a scale that scalar folding multiplied past it) is +-inf, as numpy's float32 cast rounds it."""
    try:
        return struct.unpack("<i", struct.pack("<f", x))[0]
    except OverflowError:
        return struct.unpack("<i", struct.pack("<f", math.copysign(math.inf, x)))[0]


def cb_type(tiles: int, dtype: str) -> str:
    return f"!ttkernel.cb<{tiles}, !ttcore.tile<32x32, {'f32' if dtype == 'fp32' else 'bf16'}>>"


class FunctionBuilder:
    """SSA names, hoisted constants and indentation for one func.func body."""

    def __init__(self, depth: int = 2) -> None:
        self.consts: list[str] = []
        self.body: list[str] = []
        self.depth = depth
        self._const: dict[tuple, str] = {}
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"%{stem}{self._n}"

    def const(self, value: int | float | bool, ty: str) -> str:
        key = (value, ty)
        if key not in self._const:
            if ty == "i1":
                text, name = ("true" if value else "false"), f"%{'true' if value else 'false'}"
            elif ty == "f32" and not math.isfinite(float(value)):  # MLIR writes infinities as bit patterns
                text, name = f"0x{f32_bits(float(value)) & 0xFFFFFFFF:08X}", self.fresh("cf")
            elif ty == "f32":
                text, name = f"{float(value):.8e}", self.fresh("cf")  # MLIR wants the mantissa dot
            else:
                text = str(int(value))
                name = f"%c{int(value)}" + ("" if ty == "index" else f"_{ty}")
                name = name.replace("-", "m")
            self.consts.append(f'{name} = "arith.constant"() <{{value = {text} : {ty}}}> : () -> {ty}')
            self._const[key] = name
        return self._const[key]

    def line(self, text: str) -> None:
        self.body.append("  " * self.depth + text)

    def op(self, name: str, operands: list[tuple[str, str]], attrs: str = "", result: str | None = None) -> str:
        args = ", ".join(v for v, _ in operands)
        types = ", ".join(t for _, t in operands)
        props = f" <{{{attrs}}}>" if attrs else ""
        if result:
            res = self.fresh("v")
            self.line(f'{res} = "{name}"({args}){props} : ({types}) -> {result}')
            return res
        self.line(f'"{name}"({args}){props} : ({types}) -> ()')
        return ""

    def loop(self, upper: int, body: Callable[[str], None]) -> None:
        self.loop_to(self.const(upper, "index"), body)

    def loop_to(self, upper: str, body: Callable[[str], None], lower: str | None = None) -> None:
        """An scf.for from `lower` (0) to the index value `upper`, step 1."""
        iv = self.fresh("i")
        lower = lower or self.const(0, "index")
        self.line(f'"scf.for"({lower}, {upper}, {self.const(1, "index")}) ({{')
        self.line(f"^bb0({iv}: index):")
        self.depth += 1
        body(iv)
        self.line('"scf.yield"() : () -> ()')
        self.depth -= 1
        self.line("}) : (index, index, index) -> ()")

    def lines(self) -> list[str]:
        return ["  " * self.depth + c for c in self.consts] + self.body


class IndexArith:
    """`item_index.IndexOps` emitting arith ops on index values into a function."""

    def __init__(self, b: FunctionBuilder) -> None:
        self.b = b

    def const(self, value: int) -> str:
        return self.b.const(value, "index")

    def arith(self, name: str, a: str | int, b: str | int) -> str:
        return self.b.op(f"arith.{name}", [(str(a), "index"), (str(b), "index")], result="index")


@dataclass(frozen=True)
class SectionCode:
    """A section's passes, to emit: `row(ib)` its row block whole (a loop over its passes), or the row block's
    `row_open`, one pass `body(ib, jb)` and `row_close`, for a loop nest shared with another section."""

    row: Callable[[str], None]
    row_open: Callable[[str], None]
    body: Callable[[str, str], None]
    row_close: Callable[[str], None]


class ComputeEmitter:
    """Writes the compute thread of a schedule."""

    def __init__(self, schedule: Schedule) -> None:
        self.s = schedule
        self.b = FunctionBuilder(depth=2)
        self.cb_val: dict[int, str] = {}
        self.cb_ty: dict[int, str] = {}
        self.approx = "true" if schedule.exp_approx else "false"
        self.tiles = 1  # output tiles per pass (DST tiles per value slot)
        self.ix = IndexArith(self.b)
        self.block: str = self.b.const(0, "index")  # the work item's row block
        self.item: str = self.block                  # the work item (over the grid)
        self.chunk: str = self.block                 # the loop's chunk (0 outside the loop)
        self.masked = True                            # mask ops apply (False: a chunk the mask holds on)
        self.ragged = False                           # a masked trip skipping dead tiles (scheduling.ragged)
        self.acc_origin: str | None = None            # the column an L1-accumulated row starts at (None: 0)
        self.pass_start: str | None = None            # the pass's first column, in a section popping per pass
        self.pass_popped: set[int] = set()            # CBs it pops per pass: read relative to that column

    # -- helpers --------------------------------------------------------------------------------
    def cb(self, cb_id: int) -> tuple[str, str]:
        return self.cb_val[cb_id], self.cb_ty[cb_id]

    def idx(self, v: int) -> tuple[str, str]:
        return self.b.const(v, "index"), "index"

    def i32(self, v: int) -> tuple[str, str]:
        return self.b.const(v, "i32"), "i32"

    def column(self, jb: str, width: int, t: int) -> str:
        """Column `jb * width + t` of the pass's `t`-th tile."""
        base = self.b.op("arith.muli", [(jb, "index"), self.idx(width)], result="index")
        return base if t == 0 else self.b.op("arith.addi", [(base, "index"), self.idx(t)], result="index")

    def tile_index(self, r: TileRead, i: str, j: str, k: str | None) -> tuple[str, str]:
        if r.diag is not None:
            return str(mask_tile(self.ix, r.diag, self.block, self.chunk, i, j)), "index"
        acc: str | None = None
        for coeff, iv in ((r.ci, i), (r.cj, j), (r.ck, k)):
            if not coeff or iv is None:
                continue
            term = iv if coeff == 1 else self.b.op("arith.muli", [(iv, "index"), self.idx(coeff)], result="index")
            acc = term if acc is None else self.b.op("arith.addi", [(acc, "index"), (term, "index")], result="index")
        if r.cb in self.pass_popped and acc is not None and self.pass_start is not None:
            # the passes before this one popped their tiles: this pass's are at the front (in_place.pack_over)
            assert r.cj == 1 and not r.ci and not r.ck, "a CB popped per pass is read at the pass's own tiles"
            acc = self.b.op("arith.subi", [(acc, "index"), (self.pass_start, "index")], result="index")
        return (acc, "index") if acc else self.idx(0)

    # -- per-op calls: one (init, call) pair per step of SectionOp.steps() --------------------------
    def slot(self, s: int, t: int) -> tuple[str, str]:
        """DST index of tile `t` of the value in slot `s` (a pass holds `tiles` tiles per value: `rows` tile rows
        of `width` adjacent tiles, row by row)."""
        return self.idx(s * self.tiles + t)

    def calls(self, op: SectionOp, out_cb: int) -> list[tuple[Callable[[], None], Callable[[str, str, int], None]]]:
        """One (init, call) pair per step of `op.steps()`; a call emits tile `t` of the pass at column `j`."""
        b = self.b
        pairs: list[tuple[Callable[[], None], Callable[[str, str, int], None]]] = []
        d = lambda t: self.slot(op.out, t)  # noqa: E731
        if op.copy_from is not None:
            src = op.copy_from
            fmt = f"data_format = #ttcore.supportedDataTypes<{'f32' if self.s.fp32_dest_acc else 'bf16'}>"
            pairs.append((lambda: b.op("ttkernel.copy_dest_values_init", []),
                          lambda i, j, t: b.op("ttkernel.copy_dest_values", [self.slot(src, t), d(t)], fmt)))
        k = op.kind
        if k == "copy":
            r = op.reads[0]
            pairs.append((lambda: b.op("ttkernel.copy_tile_init", [self.cb(r.cb)]),
                          lambda i, j, t: b.op("ttkernel.copy_tile", [
                              self.cb(r.cb), self.tile_index(r, i, j, None), d(t)])))
        elif k == "fpu":
            ra, rb = op.reads
            pairs.append((lambda: b.op(f"ttkernel.{op.op}_tiles_init", [self.cb(ra.cb), self.cb(rb.cb)]),
                          lambda i, j, t: b.op(f"ttkernel.{op.op}_tiles", [
                              self.cb(ra.cb), self.cb(rb.cb), self.tile_index(ra, i, j, None),
                              self.tile_index(rb, i, j, None), d(t)])))
        elif k == "reuse":
            r = op.reads[0]
            reuse = "dest_to_srca" if op.attrs["reuse"] == "srca" else "dest_to_srcb"
            attrs = (f"eltwise_binary_type = #ttkernel.eltwise_binary_type<{op.op}>, "
                     f"reuse_type = #ttkernel.reuse_type<{reuse}>")
            pairs.append((lambda: b.op("ttkernel.binary_dest_reuse_tiles_init", [self.cb(r.cb)], attrs),
                          lambda i, j, t: b.op("ttkernel.binary_dest_reuse_tiles", [
                              self.cb(r.cb), self.tile_index(r, i, j, None), d(t)], attrs)))
        elif k == "sfpu2":
            name = SFPU_BINARY[op.op]
            s0, s1 = op.dst_in
            pairs.append((lambda: b.op(f"ttkernel.{name}_init", []),
                          lambda i, j, t: b.op(f"ttkernel.{name}", [self.slot(s0, t), self.slot(s1, t), d(t)])))
        elif k == "sfpu":
            pairs.append(self._unary(SFPU_UNARY.get(op.op, f"{op.op}_tile"), d, bool(op.attrs.get("accurate"))))
        elif k == "exp_scaled":
            approx = "false" if op.attrs.get("accurate") else self.approx
            attrs = f"approx = {approx}, scale = {f32_bits(float(op.attrs['s']))} : i32"  # type: ignore[arg-type]
            pairs.append((lambda: b.op("ttkernel.exp_tile_init", [], attrs),
                          lambda i, j, t: b.op("ttkernel.exp_tile", [d(t)], attrs)))
        elif k == "scalar":
            if op.op in ("rsub_s", "rdiv_s"):
                pairs.append(self._unary("negative_tile" if op.op == "rsub_s" else "recip_tile", d))
            param = self.i32(f32_bits(float(op.attrs["s"])))  # type: ignore[arg-type]
            name = SCALAR_OP[op.op]
            pairs.append((lambda: b.op("ttkernel.binop_with_scalar_tile_init", []),
                          lambda i, j, t: b.op(f"ttkernel.{name}", [d(t), param])))
        elif k == "matmul" and op.attrs.get("block"):
            pairs.append(self._matmul_block(op))
        elif k == "matmul":
            ra, rb = op.reads
            tr = self.i32(int(op.attrs.get("transpose_b", 0)))  # type: ignore[call-overload]
            pairs.append((lambda: b.op("ttkernel.mm_init_short", [self.cb(ra.cb), self.cb(rb.cb), tr]),
                          lambda i, j, t: self.k_loop(op, i, lambda kk: b.op("ttkernel.matmul_tiles", [
                              self.cb(ra.cb), self.cb(rb.cb), self.tile_index(ra, i, j, kk),
                              self.tile_index(rb, i, j, kk), d(t)]))))
        elif k == "reduce":
            rx, rs = op.reads
            rtype, rdim = REDUCE[op.op]
            attrs = f"reduce_type = #ttkernel.reduce_type<{rtype}>, reduce_dim = #ttkernel.reduce_dim<{rdim}>"
            pairs.append((lambda: b.op("ttkernel.reduce_init", [self.cb(rx.cb), self.cb(rs.cb), self.cb(out_cb)],
                                       attrs),
                          lambda i, j, t: self.k_loop(op, i, lambda kk: b.op("ttkernel.reduce_tile", [
                              self.cb(rx.cb), self.cb(rs.cb), self.tile_index(rx, i, j, kk), self.idx(0), d(t)],
                              attrs))))
            # reduce_init leaves the packer's edge masks on (only the result positions survive a pack) until
            # reduce_uninit: after the reduce's calls, before anything else is computed or packed
            pairs.append((lambda: b.op("ttkernel.reduce_uninit", []), lambda i, j, t: None))
        elif k == "mask":  # x + (0 or -inf), or x * (1 or 0): the mask tile for the tile's diagonal distance
            r = op.reads[0]
            attrs = (f"eltwise_binary_type = #ttkernel.eltwise_binary_type<{'add' if op.op == 'bias' else 'mul'}>, "
                     "reuse_type = #ttkernel.reuse_type<dest_to_srca>")
            pairs.append((lambda: b.op("ttkernel.binary_dest_reuse_tiles_init", [self.cb(r.cb)], attrs),
                          lambda i, j, t: b.op("ttkernel.binary_dest_reuse_tiles", [
                              self.cb(r.cb), self.tile_index(r, i, j, None), d(t)], attrs)))
        elif k == "bcast":
            r = op.reads[0]
            attrs = f"bcast_type = #ttkernel.bcast_type<{BCAST[op.op]}>"
            pairs.append((lambda: b.op("ttkernel.unary_bcast_init", [self.cb(r.cb), self.cb(out_cb)], attrs),
                          lambda i, j, t: b.op("ttkernel.unary_bcast", [
                              self.cb(r.cb), self.tile_index(r, i, j, None), d(t)], attrs)))
        elif k == "transpose":
            r = op.reads[0]
            pairs.append((lambda: b.op("ttkernel.transpose_wh_init", [self.cb(r.cb), self.cb(out_cb)]),
                          lambda i, j, t: b.op("ttkernel.transpose_wh_tile", [
                              self.cb(r.cb), self.tile_index(r, i, j, None), d(t)])))
        else:
            raise ValueError(f"cannot lower op form {k}")
        return pairs

    def _matmul_block(self, op: SectionOp):
        """matmul_block over the pass's `width` output tiles of one row: per K step one in0 tile, `width`
        in1 tiles (contiguous in the row-major CB), accumulating into DST slot*width .. +width."""
        b = self.b
        ra, rb = op.reads
        ct, kt = self.i32(int(op.attrs["block"])), self.i32(op.inner)  # type: ignore[call-overload]
        tr, rt = self.i32(int(op.attrs.get("transpose_b", 0))), self.i32(1)  # type: ignore[call-overload]

        def call(i: str, j: str, t: int) -> None:
            if t:
                return  # tile 0's call covers the row of the pass
            self.k_loop(op, i, lambda kk: b.op("ttkernel.matmul_block", [
                self.cb(ra.cb), self.cb(rb.cb), self.tile_index(ra, i, j, kk), self.tile_index(rb, i, j, kk),
                self.slot(op.out, 0), tr, ct, rt, kt]))

        return (lambda: b.op("ttkernel.mm_block_init_short", [self.cb(ra.cb), self.cb(rb.cb), tr, ct, rt, kt]),
                call)

    def live_keys(self, row: str) -> tuple[str, str]:
        """The key tiles [lo, hi) of this trip's chunk that tile row `row` of the item needs (a masked trip)."""
        info = self.s.loop
        assert info is not None and info.live is not None and info.ragged is not None
        lo, hi = live_tiles(self.ix, info.live, info.ragged.chunk_tiles, self.block, row, self.chunk)
        return str(lo), str(hi)

    def k_loop(self, op: SectionOp, row: str, body: Callable[[str], None]) -> None:
        """An op's K loop: every K tile, or in a masked trip that skips dead tiles, a reduction over the keys
        visits only the live key tiles of its tile row."""
        info = self.s.loop
        if self.ragged and info is not None and info.ragged is not None and op.value in info.ragged.inner_values:
            lo, hi = self.live_keys(row)
            self.b.loop_to(hi, body, lower=lo)
        else:
            self.b.loop(op.inner, body)

    def _unary(self, name: str, d: Callable[[int], tuple[str, str]], accurate: bool = False):
        b = self.b
        attrs = f"approx = {'false' if accurate else self.approx}" if name == "exp_tile" else ""
        return (lambda: b.op(f"ttkernel.{name}_init", [], attrs),
                lambda i, j, t: b.op(f"ttkernel.{name}", [d(t)], attrs))

    # -- sections -------------------------------------------------------------------------------------
    def section(self, sec: DstSection) -> None:
        """One section: its waits, its hoisted inits, its loop nest of passes, its pops."""
        code = self._prepare(sec)
        self.b.loop(sec.grid[0] // sec.rows, code.row)
        self._pops(sec)

    def interleaved(self, first: DstSection, second: DstSection, chunks: tuple[str, str]) -> None:
        """Two sections of one loop nest run pass by pass alternately (scheduling.interleave): the waits and
        hoisted inits of both, then per row block and pass the first's pass and the second's, each with its own
        acquire..release and `chunks` (the loop's chunk each computes); an engine both use is configured in every
        pass."""
        b = self.b
        assert not self.ragged and nest(first) == nest(second), "interleaved sections share a loop nest"
        shared = first.init_engines & second.init_engines  # as the model has it (`CostModel.joined_stage`)
        b.line(f"// sections {first.index} and {second.index} interleaved, pass by pass")
        codes = []
        for sec, chunk in zip((first, second), chunks, strict=True):
            self.chunk = chunk
            codes.append(self._prepare(sec, shared))

        def row(ib: str) -> None:
            for code, chunk in zip(codes, chunks, strict=True):
                self.chunk = chunk
                code.row_open(ib)

            def both(jb: str) -> None:
                for code, chunk in zip(codes, chunks, strict=True):
                    self.chunk = chunk
                    code.body(ib, jb)

            b.loop(first.grid[1] // first.width, both)
            for code, chunk in zip(codes, chunks, strict=True):
                self.chunk = chunk
                code.row_close(ib)

        b.loop(first.grid[0] // first.rows, row)
        for sec in (first, second):
            self._pops(sec)

    def _pops(self, sec: DstSection) -> None:
        for cb, tiles in sec.pops:
            self.b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(tiles)])

    def _prepare(self, sec: DstSection, shared: set[str] | frozenset[str] = frozenset()) -> SectionCode:
        """Emit the section's header, waits and the inits hoisted out of its passes, and return the code of its
        passes. `shared`: engines another section's passes use in between, so this one configures them in
        every pass (the first call of each such engine gets its init inside the pass)."""
        b = self.b
        per_pass = f", {sec.rows} tile rows per acquire" if sec.rows > 1 else ""
        if sec.order == "tile":
            per_pass += f", tile by tile from op {sec.tile_from}"
        if sec.row_waits:
            per_pass += ", waits row block by row block for cb " + ", ".join(str(cb) for cb, _ in sec.row_waits)
        streamed = [cb for cb, _ in sec.pass_waits]
        if sec.packed_over:
            per_pass += ", packs over what it reads of cb " + ", ".join(map(str, sec.packed_over)) + \
                " (popped pass by pass)"
        if streamed:
            per_pass += ", reads cb " + ", ".join(map(str, streamed)) + " pass by pass (waited for and popped)"
        b.line(f"// section {sec.index}: {sec.grid[0]}x{sec.grid[1]} tiles, {sec.slots} DST slots, "
               f"{len(sec.ops)} ops{per_pass}")
        for cb, tiles in sec.waits:
            b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(tiles)])
        out_cb = sec.packs[0].cb
        steps, pairs, owner = [], [], []
        for n, op in enumerate(sec.ops):
            op_steps, op_pairs = op.steps(), self.calls(op, out_cb)
            assert len(op_steps) == len(op_pairs), "steps and calls must align"
            if op.kind == "mask" and not self.masked:  # in place: the value stays (its copy, if any, is made)
                op_steps, op_pairs = op_steps[:-1], op_pairs[:-1]
            steps += op_steps
            pairs += op_pairs
            owner += [n] * len(op_steps)
        # sec.order "tile": the ops from sec.tile_from on run tile by tile (every op on tile 0, then on tile 1, ...)
        # after the earlier ones ran op by op; that run keeps one init key per engine (sections.tile_major_from)
        first = sec.tile_from if sec.order == "tile" else len(sec.ops)
        by_op = [p for p in range(len(pairs)) if owner[p] < first]
        by_tile = [p for p in range(len(pairs)) if owner[p] >= first]
        for engine in ("fpu", "sfpu"):
            assert len({steps[p][1] for p in by_tile if steps[p][0] == engine}) <= 1, \
                "ops run tile by tile need one init per engine"
        emit_init = [False] * len(steps)
        before_acquire: Callable[[], None] | None = None
        for engine in ("fpu", "sfpu"):
            pos = [p for p, (e, _) in enumerate(steps) if e == engine]
            keys = [steps[p][1] for p in pos]
            if keys and engine in shared:
                emit_init[pos[0]] = True  # configured again in every pass
            elif keys:
                pairs[pos[0]][0]()  # the first op's init, before the loop
            if switches(keys):
                for n, p in enumerate(pos):
                    emit_init[p] = keys[n] != keys[n - 1]
            for n, p in enumerate(pos):
                if keys[n][0] in FULL_INIT_KINDS and emit_init[p]:
                    # a full init (it re-initialises the packer and DST sync) must not run inside
                    # acquire..release: the scheduler puts its op first, so it is set up before the acquire
                    assert n == 0, "a full init must be the pass's first FPU step"
                    emit_init[p] = False
                    before_acquire = pairs[p][0]

        width, rows = sec.width, sec.rows
        assert rows == 1 or (width == sec.grid[1] and not any(pk.accumulate for pk in sec.packs)), \
            "a pass takes several tile rows only when it takes whole rows and packs no L1-accumulated tile"

        def body(ib: str, jb: str) -> None:
            self.tiles = sec.tiles
            cols = [jb] if width == 1 else [self.column(jb, width, t) for t in range(width)]
            # the pass's tiles, row by row: (row, column); tile t of the pass sits in DST slot*tiles + t
            lines = [ib] if rows == 1 else [self.column(ib, rows, r) for r in range(rows)]
            tiles = [(i, j) for i in lines for j in cols]
            if before_acquire is not None:
                before_acquire()
            if sec.pass_pops:
                self.pass_start, self.pass_popped = cols[0], {cb for cb, _ in sec.pass_pops}
            for cb, n in sec.pass_waits:  # a streamed input: this pass's tiles, at the CB's front
                b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(n)])
            b.op("ttkernel.tile_regs_acquire", [])
            for p in by_op:
                init, call = pairs[p]
                if emit_init[p]:
                    init()
                for t, (i, j) in enumerate(tiles):
                    call(i, j, t)
            for p in by_tile:  # an engine's init for the run, before its first tile
                if emit_init[p]:
                    pairs[p][0]()
            for t, (i, j) in enumerate(tiles):
                for p in by_tile:
                    pairs[p][1](i, j, t)
            for cb, n in sec.pass_pops:  # unpacked: the packer may reuse their pages for this pass's result
                b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(n)])
            self.pass_start, self.pass_popped = None, set()
            b.op("ttkernel.tile_regs_commit", [])
            b.op("ttkernel.tile_regs_wait", [])
            for t, (_, j) in enumerate(tiles):
                for pk in sec.packs:
                    slot = self.slot(pk.slot, t)
                    if pk.accumulate:  # the first tile of the row overwrites, the rest add in L1
                        col = j if self.acc_origin is None else self.ix.arith("subi", j, self.acc_origin)
                        first = b.op("arith.minui", [(str(col), "index"), self.idx(1)], result="index")
                        flag = b.op("arith.index_cast", [(first, "index")], result="i32")
                        b.op("ttkernel.pack_reconfig_l1_acc", [(flag, "i32")])
                        # every tile of the row packs into tile 0: an indexed (out-of-order) pack, since the
                        # in-order packer ignores the index and would walk past the reserved tile
                        b.op("ttkernel.pack_tile", [slot, self.cb(pk.cb), self.idx(0)], "out_of_order = true")
                        b.op("ttkernel.pack_reconfig_l1_acc", [self.i32(0)])
                        continue
                    b.op("ttkernel.cb_reserve_back", [self.cb(pk.cb), self.i32(1)])
                    b.op("ttkernel.pack_tile", [slot, self.cb(pk.cb), self.idx(0)])
                    b.op("ttkernel.cb_push_back", [self.cb(pk.cb), self.i32(1)])
            b.op("ttkernel.tile_regs_release", [])

        accumulated = [pk.cb for pk in sec.packs if pk.accumulate]

        info = self.s.loop
        ragged = (self.ragged and info is not None and info.ragged is not None
                  and any(op.value in info.ragged.grid_values for op in sec.ops))
        pages = [pk.cb for pk in sec.packs if not pk.accumulate]

        def skipped_tile(_: str) -> None:  # a skipped tile's page of each packed CB: pushed, never read
            for cb in pages:
                b.op("ttkernel.cb_reserve_back", [self.cb(cb), self.i32(1)])
                b.op("ttkernel.cb_push_back", [self.cb(cb), self.i32(1)])

        def unwritten(lower: str, upper: str) -> None:
            if pages:
                b.loop_to(upper, skipped_tile, lower=lower)

        def row_open(ib: str) -> None:
            for cb, tiles in sec.row_waits:  # the row block's tiles of a value read row block by row block
                b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(tiles)])
            for cb in accumulated:  # one tile per row block, packed into by every tile of the row
                b.op("ttkernel.cb_reserve_back", [self.cb(cb), self.i32(1)])

        def row_close(ib: str) -> None:
            for cb in accumulated:
                b.op("ttkernel.cb_push_back", [self.cb(cb), self.i32(1)])
            for cb, tiles in sec.row_waits:  # read: the next row block moves to the front
                b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(tiles)])

        def row(ib: str) -> None:
            row_open(ib)
            if ragged:  # a masked trip: only the passes holding a live key tile of this row
                lo, hi = self.live_keys(ib)
                first = self.ix.arith("floordivsi", lo, self.ix.const(width))
                last = self.ix.arith("ceildivsi", hi, self.ix.const(width))
                start, stop = (str(self.ix.arith("muli", p, self.ix.const(width))) for p in (first, last))
                self.acc_origin = start
                unwritten(self.idx(0)[0], start)
                b.loop_to(str(last), lambda jb: body(ib, jb), lower=str(first))
                unwritten(stop, self.idx(sec.grid[1])[0])
                self.acc_origin = None
            else:
                b.loop(sec.grid[1] // width, lambda jb: body(ib, jb))
            row_close(ib)

        return SectionCode(row, row_open, body, row_close)


    def fill(self, cb: int, tiles: int, value: float, what: str) -> None:
        """Push `tiles` tiles of a constant into a CB (scalers, loop state at its start value)."""
        b = self.b
        b.line(f"// {what}: {tiles} tile(s) of {value:g}")

        def one_tile() -> None:
            b.op("ttkernel.fill_tile_init", [])
            b.op("ttkernel.fill_tile", [self.idx(0), (b.const(float(value), "f32"), "f32")])

        b.loop(tiles, lambda _: self._pass(cb, one_tile))

    def loop(self, body: list[DstSection]) -> None:
        """The streaming loop: state starts, then one trip per chunk with the state in ping-pong CBs."""
        b = self.b
        info = self.s.loop
        assert info is not None
        for f in info.fills:
            self.fill(f.cb, f.tiles, f.value, f"loop state {f.name} starts at")
        for cb, tiles in info.waits:
            b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(tiles)])
        ahead = [sec for sec in body if sec.ahead]
        named = ", ".join(str(sec.index) for sec in ahead)
        order = trip_order(body)

        def trip(chunk: str) -> None:  # a masked loop's pairs run only in its pipelined trips (`pipelined`)
            self.trip_sections(order, lambda sec: chunk, pairs=info.live is None)
            self.chunk = b.const(0, "index")

        if ahead and info.live is None:
            b.line(f"// streaming loop: {info.trips} trips, one chunk each; sections {named} run one trip ahead")
            self.pipelined(body, b.const(0, "index"), b.const(info.trips, "index"), b.const(info.trips - 1, "index"))
        elif info.live is None:
            b.line(f"// streaming loop: {info.trips} trips, one chunk each")
            b.loop(info.trips, trip)
        else:
            b.line(f"// streaming loop over the chunks mask {info.live[0]} leaves live for this row block "
                   f"(of {info.trips})")
            lo, hi = live_range(self.ix, info.live, info.rows, info.trips, self.block)
            if not any(op.kind == "mask" for sec in body for op in sec.ops):
                if ahead:
                    b.line(f"// sections {named} run one trip ahead")
                    self.pipelined(body, str(lo), str(hi))
                else:
                    b.loop_to(str(hi), trip, lower=str(lo))
            else:  # the chunks where the mask holds everywhere skip the mask op: masked, unmasked, masked
                ix = self.ix
                flo, fhi = full_range(ix, info.live, info.rows, self.block)
                start = ix.arith("minsi", ix.arith("maxsi", flo, lo), hi)
                stop = ix.arith("minsi", ix.arith("maxsi", fhi, start), hi)
                for a, z, masked in ((lo, start, True), (start, stop, False), (stop, hi, True)):
                    skips = " and skip its dead tiles" if masked and info.ragged is not None else ""
                    ahead_here = f"; sections {named} run one trip ahead" if ahead and not masked else ""
                    b.line(f"// chunks that {'apply' if masked else 'skip'} the mask{skips}{ahead_here}")
                    self.masked = masked
                    self.ragged = masked and info.ragged is not None
                    if ahead and not masked:
                        self.pipelined(body, str(a), str(z))
                    else:  # a masked trip runs its sections in program order
                        b.loop_to(str(z), trip, lower=str(a))
                self.masked, self.ragged = True, False
        for cb, tiles in info.pops:
            b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(tiles)])
        for cb, tiles in info.drains:
            b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(tiles)])
            b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(tiles)])
        grid = self.s.grid
        if info.live is not None and grid is not None and grid.share is not None and grid.ranked:
            self.pop_unread(info, (lo, hi))

    def trip_sections(self, sections: list[DstSection], chunk: Callable[[DstSection], str], pairs: bool = True
                      ) -> None:
        """A trip's sections in order, each on its chunk, an interleaved one together with the one before it (with
        `pairs`; else each apart, as a masked loop's trips that apply the mask run them)."""
        n = 0
        while n < len(sections):
            sec = sections[n]
            if pairs and n + 1 < len(sections) and sections[n + 1].interleaved:
                self.interleaved(sec, sections[n + 1], (chunk(sec), chunk(sections[n + 1])))
                n += 2
                continue
            self.chunk = chunk(sec)
            self.section(sec)
            n += 1

    def pop_unread(self, info: LoopInfo, own: tuple[str, str]) -> None:
        """On a ranked group's core: pop the chunks of each shared stream its sender multicast beyond its own
        item's (`lowering.dataflow._emit_streams`: every core takes every chunk its run's widest item visits), so
        its CBs stand where the others' do for the next item's multicast."""
        grid = self.s.grid
        assert grid is not None and info.live is not None
        b, ix = self.b, self.ix
        widest = ranked_widest(ix, self.item, grid.blocks, grid.ranked, grid.alternate)
        block = block_of(ix, widest, grid.blocks, grid.paired, grid.ranked, grid.alternate)
        padding = ranked_padding(ix, own, live_range(ix, info.live, info.rows, info.trips, block))
        b.line("// a ranked group's core: pop the chunks its sender multicast beyond its own item's")
        for st in info.streams:
            if self.s.args[st.arg].blocked:
                continue
            def pop(_: str, cb: int = st.cb, tiles: int = st.tiles) -> None:
                b.op("ttkernel.cb_wait_front", [self.cb(cb), self.i32(tiles)])
                b.op("ttkernel.cb_pop_front", [self.cb(cb), self.i32(tiles)])

            b.loop_to(str(padding), pop)

    def pipelined(self, body: list[DstSection], lower: str, upper: str, last: str | None = None) -> None:
        """Trips `lower` .. `upper` - 1 software pipelined (scheduling.lookahead): the first trip's sections ahead
        before the loop, trip t computing trip t+1's, the last trip (`last`) without them. Without `last` the
        range may be empty (a masked loop's run of unmasked trips): then all of it sits in a loop of
        min(upper - lower, 1) trips."""
        b, ix = self.b, self.ix

        def once(_: str) -> None:
            final = last or ix.arith("subi", upper, ix.const(1))
            b.line("// the first trip's sections ahead, before the loop")
            self.chunk = lower
            for sec in body:
                if sec.ahead:
                    self.section(sec)

            def trip(chunk: str) -> None:
                following = ix.arith("addi", chunk, ix.const(1))
                self.trip_sections(body, lambda sec: following if sec.ahead else chunk)

            b.loop_to(str(final), trip, lower=lower)
            b.line("// the last trip: nothing left to compute ahead")
            self.chunk = final
            for sec in body:
                if not sec.ahead:
                    self.section(sec)
            self.chunk = b.const(0, "index")

        if last is not None:
            once("")
        else:
            b.loop_to(str(ix.arith("minsi", ix.arith("subi", upper, lower), ix.const(1))), once)

    def startup(self) -> None:
        """The one hardware start-up of the kernel. When the first FPU op is a matmul it is ``mm_init`` /
        ``mm_block_init`` (tt-metal: ``compute_kernel_hw_startup<SrcOrder::Reverse>`` with the matmul's CBs, as
        tt-mlir's D2M emits it), else ``compute_kernel_hw_startup`` with the first input and output CBs."""
        s, b = self.s, self.b
        first = next(((sec, op) for sec in s.sections for op in sec.ops if op.kind in FPU_KINDS), None)
        if first is not None and first[1].kind == "matmul":
            sec, op = first
            ra, rb = op.reads
            cbs = [self.cb(ra.cb), self.cb(rb.cb), self.cb(sec.packs[0].cb)]
            transpose = self.i32(int(op.attrs.get("transpose_b", 0)))  # type: ignore[call-overload]
            if op.attrs.get("block"):
                dims = [self.i32(int(op.attrs["block"])), self.i32(1), self.i32(op.inner)]  # type: ignore[call-overload]
                b.op("ttkernel.mm_block_init", [*cbs, transpose, *dims])
            else:
                b.op("ttkernel.mm_init", [*cbs, transpose])
            return
        first_in = next((a.cb for a in s.args if a.role == "in" and a.cb >= 0),
                        s.loop.streams[0].cb if s.loop else 0)
        first_out = next(a.cb for a in s.args if a.role == "out")
        b.op("ttkernel.compute_kernel_hw_startup", [self.cb(first_in), self.cb(first_out)])

    def build_masks(self) -> None:
        """Every mask CB's pattern tiles, once per kernel, from an arange tile A (element 32*i + j; tt-mlir's
        fill_arange_tile, an unpack-thread LLK writing at the CB's read pointer) and its transpose:
        A - A^T = 31 * (i - j), so the tile D rows of tiles below the diagonal holds tri(k) where
        31 * (i - j + 32 * D + k) + 15.5 >= 0 (gez). The 15.5 keeps the sign right although a bf16 A drops
        the low bits of its elements above 256 (by less than 4, so A - A^T is off by less than 8, plus the
        rounding of the difference into DST)."""
        masks = [cb for cb in self.s.cbs if cb.role == "mask"]
        if not masks:
            return
        b = self.b
        arange, arange_t = (cb.id for cb in self.s.cbs if cb.role == "arange")
        one = self.i32(1)
        b.line("// mask patterns, once per kernel, from an arange tile (written at the CB's read page)")
        b.op("ttkernel.cb_reserve_back", [self.cb(arange), one])
        b.op("ttkernel.cb_push_back", [self.cb(arange), one])
        b.op("ttkernel.cb_wait_front", [self.cb(arange), one])
        b.op("ttkernel.experimental.fill_arange_tile", [self.cb(arange)])
        b.op("ttkernel.transpose_wh_init", [self.cb(arange), self.cb(arange_t)])
        self._pass(arange_t, lambda: b.op("ttkernel.transpose_wh_tile", [self.cb(arange), self.idx(0), self.idx(0)]))
        b.op("ttkernel.cb_wait_front", [self.cb(arange_t), one])
        for cb in masks:
            assert cb.mask is not None
            text, fill = cb.mask
            mask = Mask.parse(text)
            for d in mask.tile_runs():
                b.line(f"// {text} at {d} tile rows below the diagonal ({fill})")
                self._pass(cb.id, lambda mask=mask, d=d, fill=fill: self._pattern(mask, d, fill, arange, arange_t))
        b.op("ttkernel.cb_pop_front", [self.cb(arange), one])
        b.op("ttkernel.cb_pop_front", [self.cb(arange_t), one])
        for cb in masks:  # held for the whole kernel: every work item reads them
            b.op("ttkernel.cb_wait_front", [self.cb(cb.id), self.i32(cb.tiles)])

    def _pass(self, cb: int, body: Callable[[], None]) -> None:
        """One acquire whose DST slot 0 is packed as one tile into `cb`."""
        b = self.b
        b.op("ttkernel.tile_regs_acquire", [])
        body()
        b.op("ttkernel.tile_regs_commit", [])
        b.op("ttkernel.tile_regs_wait", [])
        b.op("ttkernel.cb_reserve_back", [self.cb(cb), self.i32(1)])
        b.op("ttkernel.pack_tile", [self.idx(0), self.cb(cb), self.idx(0)])
        b.op("ttkernel.cb_push_back", [self.cb(cb), self.i32(1)])
        b.op("ttkernel.tile_regs_release", [])

    def _pattern(self, mask: Mask, d: int, fill: str, arange: int, arange_t: int) -> None:
        """DST slot 0 := the mask's tile D tile rows below the diagonal, as 0 / -inf (bias) or 1 / 0 (zero)."""
        b = self.b
        if mask_slots(mask, fill) > self.s.dst_capacity:
            raise KernelError(f"mask {mask.text} nests too deeply to build in {self.s.dst_capacity} DST tiles")

        def scalar(slot: int, name: str, value: float) -> None:
            b.op("ttkernel.binop_with_scalar_tile_init", [])
            b.op(f"ttkernel.{name}", [self.idx(slot), self.i32(f32_bits(value))])

        def unary(slot: int, name: str) -> None:
            b.op(f"ttkernel.{name}_init", [])
            b.op(f"ttkernel.{name}", [self.idx(slot)])

        def build(m: Mask, slot: int) -> None:
            if m.op == "tri":
                b.op("ttkernel.sub_tiles_init", [self.cb(arange), self.cb(arange_t)])
                b.op("ttkernel.sub_tiles", [self.cb(arange), self.cb(arange_t), self.idx(0), self.idx(0),
                                            self.idx(slot)])
                scalar(slot, "add_unary_tile", 31.0 * (32 * d + m.k) + 15.5)
                unary(slot, "gez_tile")
            elif m.op == "not":
                build(m.args[0], slot)
                unary(slot, "negative_tile")
                scalar(slot, "add_unary_tile", 1.0)
            else:  # the operand needing more slots first, the other beside it (and, or commute)
                first, second = sorted(m.args, key=_mask_slots, reverse=True)
                build(first, slot)
                build(second, slot + 1)
                name = "mul_binary_tile" if m.op == "and" else "binary_max_tile"
                b.op(f"ttkernel.{name}_init", [])
                b.op(f"ttkernel.{name}", [self.idx(slot), self.idx(slot + 1), self.idx(slot)])

        build(mask, 0)
        if fill == "bias":  # where(mask, 0, -inf), the fills in slots the built mask no longer needs
            b.op("ttkernel.fill_tile_init", [])
            b.op("ttkernel.fill_tile", [self.idx(1), (b.const(0.0, "f32"), "f32")])
            b.op("ttkernel.fill_tile", [self.idx(2), (b.const(float("-inf"), "f32"), "f32")])
            b.op("ttkernel.where_tile_init", [])
            dtype = "f32" if self.s.fp32_dest_acc else "bf16"
            b.op("ttkernel.where_tile", [self.idx(0), self.idx(1), self.idx(2), self.idx(0)],
                 f"dtype = #ttcore.supportedDataTypes<{dtype}>")

    def program(self) -> None:
        """One work item: the scalers its reduces read (popped after their last reader, so each item fills its
        own), then every section in order, the streaming loop in place of its body's sections."""
        for cb in self.s.cbs:
            if cb.role == "scaler":
                self.fill(cb.id, 1, float(cb.scale), "scaler for reduce_tile")  # type: ignore[arg-type]
        body = [sec for sec in self.s.sections if sec.in_loop]
        for sec in self.s.sections:
            if sec.in_loop and sec is body[0]:
                self.loop(body)
            elif not sec.in_loop:
                self.section(sec)

    def emit(self) -> list[str]:
        s = self.s
        b = self.b
        ports = sorted(s.cbs, key=lambda cb: cb.id)
        for position, cb in enumerate(ports):  # compile-time arg k is the k-th CB port (ascending id)
            ty = cb_type(cb.tiles, cb.dtype)
            name = f"%cb{cb.id}"
            b.consts.append(f'{name} = "ttkernel.get_compile_time_arg_val"() '
                            f"<{{arg_index = {position} : i32}}> : () -> {ty}")
            self.cb_val[cb.id], self.cb_ty[cb.id] = name, ty
        over_grid = s.grid is not None and s.grid.items > 1
        spec = ArgSpec(rt_args=ITEM_ARGS if over_grid else (),
                       ct_args=tuple(ArgEntry("cb_port", cb.id) for cb in ports))
        self.startup()
        self.build_masks()
        if over_grid:  # one pass of the whole program per work item of this core
            b.line("// this core's work items: the whole program once each")
            first = b.op("ttkernel.get_arg_val", [self.idx(0)], result="index")
            count = b.op("ttkernel.get_arg_val", [self.idx(1)], result="index")

            def item(n: str) -> None:
                assert s.grid is not None
                item = item_number(self.ix, first, n, s.grid.run, s.grid.run_stride)
                self.item = str(item)
                self.block = str(block_of(self.ix, item, s.grid.blocks, s.grid.paired, s.grid.ranked,
                                          s.grid.alternate))
                self.program()

            b.loop_to(count, item)
        else:
            self.program()
        for cb in s.cbs:
            if cb.role == "mask":
                b.op("ttkernel.cb_pop_front", [self.cb(cb.id), self.i32(cb.tiles)])
        b.op("func.return", [])
        fp32 = "true" if s.fp32_dest_acc else "false"
        sync = "true" if s.dst_full_sync else "false"
        approx = "true" if s.exp_approx else "false"
        head = (f'  "func.func"() <{{function_type = () -> (), sym_name = "{s.kernel}_compute"}}> ({{')
        tail = (f"  }}) {{ttkernel.arg_spec = {spec.print()}, ttkernel.thread = #ttkernel.thread<compute>, "
                f"tteqsat.fp32_dest_acc_en = {fp32}, tteqsat.dst_full_sync = {sync}, "
                f'tteqsat.math_fidelity = "{s.math_fidelity}", tteqsat.math_approx_mode = {approx}, '
                f"tteqsat.dst_tiles = {s.dst_capacity} : i32}} : () -> ()")
        return [head, *b.lines(), tail]


def dram_tensors(schedule: Schedule) -> list[tuple[str, str, tuple[int, ...]]]:
    """The module's DRAM tensors (name, role, full shape), in kernel-argument order. Over the grid these are
    the user's whole tensors, one per tensor however many arguments slice it; else one per argument."""
    grid = schedule.grid
    if grid is None or grid.items <= 1:
        return [(a.name, a.role, a.shape) for a in schedule.args]
    seen: dict[str, tuple[str, str, tuple[int, ...]]] = {}
    for a in schedule.args:
        layout = grid.layouts[a.name]
        seen.setdefault(layout.tensor, (layout.tensor, a.role, layout.shape))
    return list(seen.values())


def _item_tiles(schedule: Schedule, arg_name: str) -> ItemTiles | None:
    grid = schedule.grid
    if grid is None or grid.items <= 1:
        return None
    layout = grid.layouts[arg_name]
    rows, cols = layout.shape[-2:]
    matrix = -(-rows // 32) * -(-cols // 32)
    terms = []
    stride = matrix
    offset = 0
    for (axis, divisor), size in reversed(list(zip(layout.axes, layout.shape[:-2], strict=True))):
        if axis >= 0:
            terms.append((axis, divisor, stride))
        else:  # a fixed slice
            offset += divisor * stride
        stride *= size
    block = (grid.block_rows // 32) * -(-cols // 32) if layout.blocked else 0
    return ItemTiles(tuple(reversed(terms)), block, offset)


def bindings(schedule: Schedule) -> tuple[list[TensorBinding], list[TensorBinding], list[StreamBinding]]:
    """Kernel arguments, in the documented order (inputs as declared, then outputs), and the streams."""
    cbs = {cb.id: cb for cb in schedule.cbs}
    dt = "f32" if schedule.dtype == "fp32" else "bf16"
    tensor_index = {name: n for n, (name, _, _) in enumerate(dram_tensors(schedule))}
    grid = schedule.grid if schedule.grid is not None and schedule.grid.items > 1 else None
    ahead = read_ahead(schedule.sections)  # streams the compute loop reads a trip ahead: the reader too

    def index_of(arg_name: str) -> int:
        return tensor_index[grid.layouts[arg_name].tensor if grid else arg_name]

    ins: list[TensorBinding] = []
    outs: list[TensorBinding] = []
    streamed = schedule.streamed_inputs()
    for a in schedule.args:
        if a.cb < 0:
            continue  # streamed only
        cb = cbs[a.cb]
        rows = -(-a.shape[0] // 32) if cb.tile_order == "cols" else 0
        binding = TensorBinding(a.name, index_of(a.name), a.cb, cb_type(cb.tiles, cb.dtype), a.n_tiles, dt, rows,
                                _item_tiles(schedule, a.name), streamed.get(a.cb, "") if a.role == "in" else "")
        (ins if a.role == "in" else outs).append(binding)
    streams: list[StreamBinding] = []
    for st in schedule.loop.streams if schedule.loop else []:
        cb = cbs[st.cb]
        rt, ct = -(-st.shape[0] // 32), -(-st.shape[1] // 32)
        arg = schedule.args[st.arg].name
        tensor = TensorBinding(st.name, index_of(arg), st.cb, cb_type(cb.tiles, cb.dtype), rt * ct, dt,
                               item=_item_tiles(schedule, arg))
        streams.append(StreamBinding(tensor, st.axis, rt, ct, st.width // 32, st.column_major, st.cb in ahead))
    return ins, outs, streams


def emit_module(schedule: Schedule) -> str:
    """The whole module as text: deterministic for a given schedule."""
    ins, outs, streams = bindings(schedule)
    dt = "f32" if schedule.dtype == "fp32" else "bf16"
    tensors = ", ".join(f'"{name}:{role}:{"x".join(map(str, shape))}:{dt}"'
                        for name, role, shape in dram_tensors(schedule))
    grid = schedule.grid
    items = (WorkItems(grid.batch, grid.blocks, grid.paired, grid.run, grid.share is not None, grid.run_stride,
                       grid.ranked, grid.alternate) if grid is not None and grid.items > 1 else None)
    loop = schedule.loop
    live = LiveChunks(loop.live, loop.rows) if loop is not None and loop.live is not None else None
    lines = [f'module attributes {{tteqsat.kernel = "{schedule.kernel}", tteqsat.arch = "{schedule.arch}", '
             f"tteqsat.tensors = [{tensors}]}} {{"]
    lines += emit_reader(schedule.kernel, ins, streams, loop.trips if loop else 0, items, live)
    lines += ComputeEmitter(schedule).emit()
    lines += emit_writer(schedule.kernel, outs, items)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mask_slots(mask: Mask) -> int:
    """DST slots `ComputeEmitter._pattern` uses to build `mask`: an operand held while the other is built, the
    one needing more built first (Sethi-Ullman), so a chain of n `|` needs two slots, not n."""
    if mask.op == "tri":
        return 1
    if mask.op == "not":
        return _mask_slots(mask.args[0])
    a, b = sorted((_mask_slots(x) for x in mask.args), reverse=True)
    return max(a, b + 1)


def mask_slots(mask: Mask, fill: str) -> int:
    """DST slots one pattern tile of `mask` needs: its build, and for a -inf bias the 0 and -inf fills that
    where_tile selects from beside the built 0 / 1 tile."""
    return max(_mask_slots(mask), 3 if fill == "bias" else 1)
