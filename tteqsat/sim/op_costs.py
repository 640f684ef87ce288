"""What each compute op costs the unpack, math and pack threads, keyed by op name, for the timing simulator.

Every number comes from the cost model's arch constants (`tteqsat.cost.model.TensixCostModel`: tile bytes over the
unpack rate, `fpu.*`, `matmul.<fidelity>`, `sfpu.*`, `pack.*`, `sync.init`), so the timing simulator and the
analytic model price an op alike and can disagree only about how the ops overlap. The table is keyed by op name so
a new simulator op needs one row here and no change to its compiler in `compute_ops`; an op with no row costs
nothing (index arithmetic, CB queries) unless its name says it is tile math, which is an error naming the op.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tteqsat.cost.model import TensixCostModel
from tteqsat.mlir_text.ir import EnumAttr, Op


@dataclass(frozen=True)
class Work:
    """One op's busy cycles per compute thread. ``unpack`` is the unpack thread's (the busier of the two
    unpackers, which run side by side); ``grains`` splits the op into that many equal steps that flow through the
    source registers one by one (the output tiles of a matmul_block), so math starts on the first."""

    unpack: float = 0.0
    math: float = 0.0
    pack: float = 0.0
    grains: int = 1


Values = tuple
"""The op's operand values at one execution, in operand order."""
Pricer = Callable[[Values], Work]

FPU_INITS = frozenset({
    "copy_tile_init", "add_tiles_init", "sub_tiles_init", "mul_tiles_init", "binary_dest_reuse_tiles_init",
    "reduce_init", "reduce_uninit", "unary_bcast_init", "transpose_wh_init", "mm_init", "mm_init_short",
    "mm_block_init", "mm_block_init_short",
})
"""Inits that reconfigure the unpacker and the math thread (the cost model's FPU init sites; reduce_uninit is
the FPU step after a reduce, `scheduling.model.REDUCE_UNINIT`)."""
HW_STARTUP = frozenset({"compute_kernel_hw_startup", "init_sfpu", "unary_op_init_common", "binary_op_init_common"})
"""Start-up of all three compute threads."""
SFPU_NAMES = {"negative_tile": "neg", "binary_max_tile": "binary", "binary_min_tile": "binary",
              "add_binary_tile": "binary", "sub_binary_tile": "binary", "mul_binary_tile": "binary",
              "div_binary_tile": "div", "add_unary_tile": "scalar", "sub_unary_tile": "scalar",
              "mul_unary_tile": "scalar", "div_unary_tile": "scalar", "fill_tile": "fill",
              "copy_dest_values": "copy_dest", "experimental.fill_arange_tile": "fill", "gez_tile": "scalar",
              "where_tile": "binary"}
"""SFPU ops whose `sfpu.*` key is not their stem (``recip_tile`` -> ``sfpu.recip``)."""


def _format(cb) -> str:  # noqa: ANN001 - a sim CircularBuffer
    return "fp32" if cb.dtype == "f32" else cb.dtype


class OpCosts:
    """Per op name, a pricer: operand values -> `Work`. Built once per arch; pricers cache per CB format."""

    def __init__(self, model: TensixCostModel) -> None:
        self.model = model
        self.init = model.init
        self.sync = model.sync
        self.pack = model.pack
        self.pack_l1_acc = model.num("pack.l1_acc_cycles_per_tile")
        self._unpack: dict[str, float] = {}

    def unpack(self, cb) -> float:  # noqa: ANN001
        """Cycles for one unpacker to move one tile of ``cb``'s format into its source register."""
        fmt = _format(cb)
        if fmt not in self._unpack:
            self._unpack[fmt] = self.model.unpack_tile(fmt)
        return self._unpack[fmt]

    def pricer(self, op: Op) -> Pricer | None:
        """The pricer of ``op`` (a compute-thread tile op), or None when it is not tile math."""
        m = self.model
        name = op.name.removeprefix("ttkernel.")
        u = self.unpack
        phases = m.phases
        if name == "copy_tile":
            math = m.num("fpu.copy")
            return lambda v: Work(u(v[0]), math)
        if name in ("add_tiles", "sub_tiles", "mul_tiles"):
            kind = name.removesuffix("_tiles")
            math = m.num(f"fpu.{kind}") * (phases if kind == "mul" else 1)
            return lambda v: Work(max(u(v[0]), u(v[1])), math)  # in0 on unpacker A, in1 on B, side by side
        if name == "binary_dest_reuse_tiles":
            kind = _enum(op, "eltwise_binary_type")
            math = m.num(f"fpu.{kind}") * (phases if kind == "mul" else 1)
            return lambda v: Work(u(v[0]), math)
        if name == "matmul_tiles":
            math = m.num(f"matmul.{m.arch.math_fidelity}")
            return lambda v: Work(max(u(v[0]), u(v[1])), math)
        if name == "matmul_block":  # one K step of a rt x ct block: the LLK's operand reuse (cost.model)
            def block(v: Values) -> Work:
                e = m.matmul_pass(1, v[7], v[6], _format(v[0]), _format(v[1]))
                return Work(e.unpack_thread, e.math, grains=max(1, v[6] * v[7]))
            return block
        if name == "reduce_tile":  # the operand on unpacker A, the scaler tile on B
            kind = _enum(op, "reduce_type")
            math = m.num("fpu.reduce_max") if kind == "reduce_max" else m.num("fpu.reduce_sum") * phases
            return lambda v: Work(max(u(v[0]), u(v[1])), math)
        if name == "unary_bcast":
            math = m.num("fpu.bcast")
            return lambda v: Work(u(v[0]), math)
        if name == "transpose_wh_tile":
            math = m.num("fpu.transpose")
            return lambda v: Work(u(v[0]), math)
        if name == "exp_tile":
            approx = op.attr("approx", False) is True
            work = Work(math=m.num("sfpu.exp" if approx else "sfpu.exp_accurate"))
            return lambda v: work
        if (name.endswith("_tile") and name != "pack_tile") or name in SFPU_NAMES:
            key = "sfpu." + SFPU_NAMES.get(name, name.removesuffix("_tile"))
            if key not in m.arch.keys():
                raise KeyError(f"the arch file has no cost for {op.name} ({key})")
            work = Work(math=m.num(key))
            return lambda v: work
        return None


def _enum(op: Op, key: str) -> str:
    attr = op.attr(key)
    return attr.value if isinstance(attr, EnumAttr) else ""
