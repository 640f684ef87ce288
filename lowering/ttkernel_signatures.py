"""TTKernel op signatures of tt-mlir main, and a checker for emitted generic-form ops.

Pinned to tenstorrent/tt-mlir main at commit 19c86fca45ae7c3d8f886c0401d8b40a40d2f294 (2026-08-21, "Uplift
third_party/tt-metal to d5f9bc4a..."). The table below was written from that commit's
``include/ttmlir/Dialect/TTKernel/IR/TTKernelOps.td`` (every op it defines), ``TTKernelOpsTypes.td``,
``TTKernelOpsEnums.td``, ``lib/Dialect/TTKernel/IR/TTKernelOps.cpp`` (verifiers) and
``lib/Conversion/TTKernelToEmitC/TTKernelToEmitC.cpp`` (what each op becomes in C++); printed spellings were
checked against the lit tests under ``test/ttmlir`` (see ``/work/notes/ttmlir-main.md`` for the file list).

Conventions:

* Operand types are short strings; ``|`` separates alternatives: ``"index|i32"`` (tt-mlir's IndexLike),
  ``"i32"``, ``"i8"``, ``"!ttkernel.cb"`` (any ``!ttkernel.cb<N, elem>``), ``"!ttkernel.TensorAccessor"``,
  ``"*"`` (any type).
* Every attribute an op declares is an MLIR *property*: in generic form it is printed inside ``<{...}>``
  (``"ttkernel.exp_tile"(%d) <{approx = true, scale = 1065353216 : i32}> : (index) -> ()``).
* Ops with several optional/variadic operand groups (``segmented=True``) need the
  ``operandSegmentSizes = array<i32: ...>`` property in generic form, one count per operand group.

``check_op`` is independent of any parser: give it the op name, operand and result type strings and the
property values as printed (``"true"``, ``"1 : i32"``, ``"#ttkernel.reduce_type<reduce_max>"``,
``"#ttcore.supportedDataTypes<bf16>"``, ``"array<i32: 1, 1, 0>"``, ``'"expr()"'``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TTMLIR_COMMIT = "19c86fca45ae7c3d8f886c0401d8b40a40d2f294"
TTMLIR_DATE = "2026-08-21"
TTMLIR_REPO = "https://github.com/tenstorrent/tt-mlir"
TTMETAL_COMMIT = "d5f9bc4a43b1287523458f1af6a470c6b2adc180"  # third_party/tt-metal pinned by TTMLIR_COMMIT


@dataclass(frozen=True)
class Operand:
    """One operand group: a single value, or (optional / variadic) zero-or-one / zero-or-more values."""

    name: str
    types: str  # alternatives joined by "|", e.g. "index|i32"; "*" = any type
    optional: bool = False
    variadic: bool = False


@dataclass(frozen=True)
class OpSig:
    """Signature of one TTKernel op as the generic form sees it."""

    name: str  # full name, "ttkernel.pack_tile"
    operands: tuple[Operand, ...]
    results: tuple[str, ...]  # one alternatives string per result
    required: dict[str, str] = field(default_factory=dict)  # property -> kind (see PROPERTY_KINDS)
    optional: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # property -> (kind, default)
    kind: str = ""  # "fpu" | "sfpu" | "init" | "" (tt-mlir's op class / trait)
    segmented: bool = False  # AttrSizedOperandSegments: needs operandSegmentSizes in generic form
    regions: int = 0
    notes: str = ""


# Property kinds: how a value is printed in generic form.
PROPERTY_KINDS: dict[str, str] = {
    "bool": "true | false",
    "i32": "<int> : i32 (an fp32 parameter is passed as its bit pattern, e.g. 1.0 -> 1065353216 : i32)",
    "i64": "<int> (i64 is MLIR's default integer type, printed without ': i64')",
    "str": '"<text>"',
    "segments": "array<i32: n0, n1, ...> (one count per operand group)",
    "#ttkernel.reduce_type": "#ttkernel.reduce_type<reduce_sum>",
    "#ttkernel.reduce_dim": "#ttkernel.reduce_dim<reduce_dim_row>",
    "#ttkernel.bcast_type": "#ttkernel.bcast_type<col>",
    "#ttkernel.reuse_type": "#ttkernel.reuse_type<dest_to_srca>",
    "#ttkernel.eltwise_binary_type": "#ttkernel.eltwise_binary_type<sub>",
    "#ttkernel.input_clamping": "#ttkernel.input_clamping<none>",
    "#ttcore.supportedDataTypes": "#ttcore.supportedDataTypes<bf16>",
}

# Attribute mnemonic -> allowed spellings (as printed between the angle brackets).
ENUMS: dict[str, tuple[str, ...]] = {
    "#ttkernel.thread": ("noc", "compute", "ethernet"),
    "#ttkernel.reduce_type": ("reduce_sum", "reduce_max", "reduce_avg"),
    "#ttkernel.reduce_dim": ("reduce_dim_row", "reduce_dim_col", "reduce_dim_scalar"),
    "#ttkernel.bcast_type": ("none", "col", "row", "scalar"),
    "#ttkernel.reuse_type": ("dest_to_srca", "dest_to_srcb"),
    "#ttkernel.eltwise_binary_type": ("add", "sub", "mul"),
    "#ttkernel.input_clamping": ("none", "clamp_to_negative"),
    "#ttcore.supportedDataTypes": (
        "f32", "f16", "bf16", "bfp_f8", "bfp_bf8", "bfp_f4", "bfp_bf4", "bfp_f2", "bfp_bf2",
        "u32", "u16", "u8", "si32", "i1",
    ),
    # Not stand-alone attributes: the arg_type field inside #ttkernel.arg_spec entries ...
    "ttkernel.arg_type": (
        "cb_port", "buffer_address", "local_semaphore", "named_argument", "global_semaphore", "scalar",
        "tensor_accessor_args",
    ),
    # ... and host-side fields of #ttmetal.compute_config (not kernel IR; see FUNC_ATTRS notes).
    "ttmetal.math_fidelity": ("lofi", "hifi2", "hifi3", "hifi4"),
    "ttmetal.unpack_to_dest_mode": ("fp32", "default"),
}

# Type mnemonic -> parameter form.
TYPES: dict[str, str] = {
    "!ttkernel.cb": "!ttkernel.cb<num_elements, element_type>: tiled CB = number of tiles and a tile type, "
    "e.g. !ttkernel.cb<4, !ttcore.tile<32x32, bf16>>; row-major CB e.g. !ttkernel.cb<8192, f32>",
    "!ttkernel.TensorAccessorArgs": "no parameters (compile-time + common-runtime arg offsets of one accessor)",
    "!ttkernel.TensorAccessor": "no parameters (built by ttkernel.TensorAccessor from args + base address)",
    "!ttkernel.PageMapping": "no parameters (bank id + page offset, from tensor_accessor.get_bank_and_offset)",
    "!ttkernel.noc_addr": "no parameters (64-bit NoC address)",
    "!ttkernel.local_semaphore": "no parameters (L1 address of a local semaphore)",
    "!ttkernel.l1_addr": "no parameters",
    "!ttkernel.l1_addr_ptr": "optional element width: !ttkernel.l1_addr_ptr (32 bits) or "
    "!ttkernel.l1_addr_ptr<8|16|32>",
    "!ttkernel.DataFormat": "no parameters",
    "!ttkernel.fabric_connection_manager": "no parameters",
    "!ttkernel.mesh_position": "no parameters",
    "!ttcore.tile": "!ttcore.tile<32x32, dtype> with dtype one of f32, bf16, si32, bfp_bf8, ... (CB element type)",
}

# Attributes that go on the kernel's func.func (discardable attributes, written in the trailing {...}).
FUNC_ATTRS: dict[str, str] = {
    "ttkernel.thread": "#ttkernel.thread<compute> | #ttkernel.thread<noc> | #ttkernel.thread<ethernet>; "
    "required: TTKernelToCpp only translates funcs that carry it",
    "ttkernel.arg_spec": "#ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 0>] "
    "ct_args = [<arg_type = cb_port, operand_index = 0>, <arg_type = tensor_accessor_args, operand_index = 0>]>; "
    "either list may be left out (a ct-only spec prints as '#ttkernel.arg_spec< ct_args = [...]>'). "
    "Entry fields: arg_type (ENUMS['ttkernel.arg_type']), operand_index, is_uniform (default true: a uniform "
    "runtime arg is a *common* runtime arg, read with get_common_arg_val; false = per-core, get_arg_val), "
    "argument_name (default empty). tensor_accessor_args entries must come last in ct_args.",
    "compute config": "math fidelity, fp32_dest_acc_en, dst_full_sync_en, math_approx_mode and unpack_to_dest_mode "
    "are NOT TTKernel attributes: tt-mlir carries them host-side in #ttmetal.compute_config<@kernel, core_range, "
    "kernel_args, hifi4, true, false, false, [default]> on ttmetal.enqueue_program; in C++ they reach the kernel "
    "as defines (DST_ACCUM_MODE, ...). Per-op approximation is the approx property of exp_tile(_init).",
}

# Ops that older tt-mlir (or tt-metal) spelled differently, with what to use on main.
REMOVED: dict[str, str] = {
    "ttkernel.get_interleaved_addr_gen_fast": "removed in 3d7f644dd5 (2026-06-18); build a !ttkernel.TensorAccessor "
    "with ttkernel.TensorAccessorArgs + ttkernel.TensorAccessor",
    "ttkernel.noc_semaphore_wait": "now ttkernel.experimental.semaphore_wait (sem_addr: !ttkernel.l1_addr_ptr, val)",
    "ttkernel.noc_semaphore_wait_min": "now ttkernel.experimental.semaphore_wait_min",
    "ttkernel.max_tile": "now ttkernel.binary_max_tile (dst0, dst1, odst)",
    "ttkernel.max_tile_init": "now ttkernel.binary_max_tile_init",
    "ttkernel.matmul_init": "no such TTKernel op; ttkernel.mm_init_short lowers to C++ matmul_init",
    "ttkernel.matmul_block_init": "no such TTKernel op; ttkernel.mm_block_init_short lowers to C++ matmul_block_init",
    "ttkernel.noc_async_read_page": "no such TTKernel op; use ttkernel.noc_async_read_tile (C++ is the page API)",
    "ttkernel.noc_async_write_page": "no such TTKernel op; use ttkernel.noc_async_write_tile (C++ is the page API)",
    "ttkernel.transpose_wh_uninit": "removed",
    "ttkernel.cb_reinterpret_shape": "removed",
    "ttkernel.logical_not_unary_tile": "now ttkernel.logical_not_tile (with dtype property)",
    "ttkernel.logical_not_unary_tile_init": "now ttkernel.logical_not_tile_init",
    "ttkernel.ceil_tile_float32": "now ttkernel.ceil_tile",
    "ttkernel.floor_tile_float32": "now ttkernel.floor_tile",
    "ttkernel.tensor_accessor_get_noc_addr": "now ttkernel.tensor_accessor.get_noc_addr",
}

# Short type names used in the table below.
_ALIAS: dict[str, str] = {
    "idx": "index|i32",
    "cb": "!ttkernel.cb",
    "ta": "!ttkernel.TensorAccessor",
    "taa": "!ttkernel.TensorAccessorArgs",
    "noc_addr": "!ttkernel.noc_addr",
    "sem": "!ttkernel.local_semaphore",
    "l1": "!ttkernel.l1_addr",
    "l1p": "!ttkernel.l1_addr_ptr",
    "df": "!ttkernel.DataFormat",
    "fcm": "!ttkernel.fabric_connection_manager",
    "pagemap": "!ttkernel.PageMapping",
    "any": "*",
    "argval": "index|i32|ui32|!ttkernel.cb|!ttkernel.l1_addr",
}
_PROP_ALIAS: dict[str, str] = {
    "dtype": "#ttcore.supportedDataTypes",
    "reduce_type": "#ttkernel.reduce_type",
    "reduce_dim": "#ttkernel.reduce_dim",
    "bcast_type": "#ttkernel.bcast_type",
    "reuse_type": "#ttkernel.reuse_type",
    "eltwise_binary_type": "#ttkernel.eltwise_binary_type",
    "input_clamping": "#ttkernel.input_clamping",
}

# Notes per op (our words). "C++:" = what convert-ttkernel-to-emitc + ttkernel-to-cpp produce at TTMLIR_COMMIT.
NOTES: dict[str, str] = {
    "compute_kernel_hw_startup": "2 or 3 CBs (srcA CB, optional srcB CB, out CB); first thing in a compute kernel. "
    "mm_init / mm_block_init already emit compute_kernel_hw_startup<SrcOrder::Reverse>, so do not emit both.",
    "tile_regs_acquire": "DST protocol: acquire -> math -> commit -> wait -> pack -> release.",
    "pack_tile": "C++: pack_tile<out_of_order>(dst, cb, idx). With out_of_order=false (default) the index is "
    "ignored and the packer writes at its own running pointer; set out_of_order = true for indexed writes "
    "(generic: <{out_of_order = true}>). The pretty form prints the flag as a 4th positional token "
    "(ttkernel.pack_tile(%d, %cb, %i, true), test/ttmlir/Dialect/D2M/Transforms/control_dst_section.mlir); the "
    "generic spelling is standard property syntax, not shown by any lit test.",
    "pack_reconfig_l1_acc": "C++: PACK((llk_pack_reconfig_l1_acc(x))); operand is i32 (1 = accumulate into L1).",
    "copy_tile": "CB tile -> DST: (cb, tile index in cb, dst index). Needs copy_tile_init(cb).",
    "typecast_tile": "in_dtype / out_dtype printed like #ttcore.supportedDataTypes<f32> "
    "(TTKernelToEmitC/ttkernel.mlir).",
    "mm_init": "Once per kernel. C++: compute_kernel_hw_startup<SrcOrder::Reverse>(in0, in1, out); "
    "matmul_init(in0, in1, transpose).",
    "mm_init_short": "C++: matmul_init(in0, in1, transpose) (tt-metal dropped mm_init_short; the TTKernel name "
    "stayed).",
    "matmul_tiles": "No transpose operand any more (it comes from the init). DST[dst] += in0[i0] @ in1[i1].",
    "mm_block_init": "C++: compute_kernel_hw_startup<SrcOrder::Reverse>(in0, in1, out); "
    "matmul_block_init(in0, in1, transpose, ct, rt, kt).",
    "mm_block_init_short": "C++: matmul_block_init(in0, in1, transpose, ct, rt, kt).",
    "matmul_block": "Accumulates an rt x ct block into DST starting at dst_tile_idx; transpose/ct/rt/kt are i32.",
    "experimental.matmul_block": "What D2M emits (with in1_k_stride); C++ experimental::matmul_block (LLK code pasted "
    "into the kernel).",
    "binary_dest_reuse_tiles_init": "C++: binary_dest_reuse_tiles_init<ELWADD|ELWSUB|ELWMUL, DEST_TO_SRCA|B>(cb).",
    "binary_dest_reuse_tiles": "dest_to_srca: SrcA = DST[dst], SrcB = cb tile; dest_to_srcb: the other way round; "
    "result back in DST[dst].",
    "unary_bcast": "CB tile -> DST with broadcast; C++ unary_bcast<BroadcastType::COL|ROW|SCALAR|NONE>(...).",
    "reduce_init": "No full_fp32 attribute any more (fp32 accumulation follows the DST_ACCUM_MODE define). "
    "C++: reduce_init<PoolType::SUM|MAX|AVG, ReduceDim::REDUCE_ROW|COL|SCALAR>(in, scaler, out).",
    "reduce_tile": "C++: reduce_tile<PoolType, ReduceDim>(in, scaler, in_idx, scaler_idx, dst).",
    "reduce_uninit": "No operands, no properties; C++ reduce_uninit(). Clears the packer edge masks set by "
    "reduce_init; D2M emits it after every reduce (D2MToTTKernel.cpp).",
    "sfpu_reduce_init": "Verifier: reduce_type reduce_sum|reduce_max and data_format si32 only.",
    "sfpu_reduce": "Verifier: reduce_sum|reduce_max, si32, reduce_dim_row|reduce_dim_col only.",
    "copy_dest_values": "Operands (src, dst): DST[idst_out] = DST[idst_in]. data_format is required (since 61be8f66e1, "
    "2026-06-16): <{data_format = #ttcore.supportedDataTypes<bf16>}> (TTKernelToEmitC/ttkernel.mlir). "
    "C++: copy_dest_values<DataFormat::Float16_b>(in, out).",
    "where_tile": "Operands (cond, true, false, out) DST indices; dtype required; C++ where_tile<DataFormat::X>(...).",
    "add_unary_tile": "param = fp32 bit pattern as i32; C++ wraps it in a volatile int32_t before the call.",
    "exp_tile_init": "Optional approx (bool), scale (i32 fp32 bits; 1.0 = 1065353216), input_clamping. C++ "
    "exp_tile_init<approx, scale, clamping>() with template args up to the last one set; bare exp_tile_init() "
    "when none is set.",
    "exp_tile": "Optional approx, input_clamping, iterations (i32, default 8), scale (i32 fp32 bits). A scale other "
    "than 1.0 emits exp_tile<approx, true, ...>(idst, VectorMode::RC, scale_bf16) = exp(scale * x); in approx mode "
    "tt-metal takes the scale from exp_tile_init, so put scale on both ops.",
    "fill_tile": "(dst index, f32 SSA value from arith.constant); needs fill_tile_init().",
    "fill_tile_int": "(dst index, i32 value); C++ fill_tile_int<DataFormat::Int32>.",
    "tanh_tile": "Operand is called dst0_index (same position as the other unary ops).",
    "invoke_sfpi": "One region of custom SFPI code; no operands.",
    "cb_push_back": "numPages is i32. Verifier: must sit in a func directly under the module (or an enqueue_program).",
    "experimental.write_row_mask_tile": "(valid_rows i32, cb): writes one tile with 1.0 where row < valid_rows "
    "else 0.0 straight into the CB's L1 (meant for dataflow kernels; dtype from the CB's tile type). C++ "
    "experimental::write_row_mask_tile<DataFormat::X>(n, cb). Reserve/push around it is the caller's job "
    "[inferred from D2M usage, not stated].",
    "experimental.write_col_mask_tile": "(valid_cols i32, cb): like write_row_mask_tile, 1.0 where col < valid_cols.",
    "experimental.fill_arange_tile": "(cb): writes element[i, j] = 32*i + j (0..1023) in the CB's format. With a "
    "transpose / compare ops this gives in-kernel causal masks.",
    "transpose_wh_init": "Verifier: both CBs must have tile element types.",
    "noc_async_read": "Pretty: noc_async_read core[%x, %y], %src, %l1, %size, noc %n. Generic needs "
    "operandSegmentSizes (srcCoreXY, srcBankId, srcAddress, dstLocalL1Addr, size, noc), e.g. "
    "array<i32: 2, 0, 1, 1, 1, 1>; exactly one of core (2 values) or bank (1 value).",
    "noc_async_read_tile": "(page id i32, accessor, L1 dest addr i32, [noc i8]). The noc operand is optional in the IR "
    "but convert-ttkernel-to-emitc fails without a constant one. C++: nocN.async_read(acc, "
    "CoreLocalMem<uint32_t>(l1), acc.get_aligned_page_size(), {.page_id = id}, {}).",
    "noc_async_write_tile": "(page id index|i32, accessor, L1 src addr i32, [noc i8]); noc needed for EmitC.",
    "noc_async_read_barrier": "([noc i8]); the noc is needed for EmitC (nocN.async_read_barrier()).",
    "noc_async_write_barrier": "([noc i8]); the noc is needed for EmitC (nocN.async_write_barrier()).",
    "noc_async_write": "Generic needs operandSegmentSizes (srcLocalL1Addr, dstCoreXY, dstBankId, dstAddress, size, "
    "noc).",
    "get_semaphore": "semaphore index -> !ttkernel.local_semaphore; reinterpret_cast it to !ttkernel.l1_addr_ptr for "
    "noc_semaphore_set / experimental.semaphore_wait.",
    "noc_semaphore_inc": "(noc_addr, incr, [noc]) + optional posted (bool).",
    "experimental.semaphore_wait": "Replaces noc_semaphore_wait: (l1_addr_ptr, value).",
    "noc_semaphore_set_multicast": "(local sem or l1 addr, multicast noc_addr, num_dests i32) + optional linked.",
    "get_arg_val": "Per-core runtime arg (is_uniform = false in the arg spec). Result index|i32|ui32|cb|l1_addr.",
    "get_common_arg_val": "Common (uniform) runtime arg; D2M reads buffer addresses (and CB ports) this way by "
    "default.",
    "get_compile_time_arg_val": "No operands; property arg_index (<{arg_index = 2 : i32}>); C++ "
    "get_compile_time_arg_val(2).",
    "get_noc_multicast_addr": "(x_start, y_start, x_end, y_end, addr, [noc]) -> !ttkernel.noc_addr. On NoC1 the caller "
    "swaps start and end.",
    "noc_async_write_multicast": "(src l1, size, num_dests, x_start, y_start, x_end, y_end, dst l1, [noc]) + optional "
    "linked (bool). Pretty: (..., start_xy[%x0, %y0], end_xy[%x1, %y1], %dst, noc %n, linked true).",
    "TensorAccessorArgs": "Either (cta_base i32, crta_base i32), both from arith.constant unless cta_expr/crta_expr "
    "is set, with operandSegmentSizes = array<i32: 1, 1, 0>; or (prev) chaining with array<i32: 0, 0, 1>. "
    "C++: constexpr auto tensor_accessor_args_N = TensorAccessorArgs<cta, crta>(); a chained one uses "
    "prev.next_compile_time_args_offset() / prev.next_common_runtime_args_offset(). The pretty form prints no "
    "type signature: ttkernel.TensorAccessorArgs(%c1, %c0).",
    "TensorAccessor": "(args, bank base address i32, [page size i32]) -> !ttkernel.TensorAccessor; C++ "
    "TensorAccessor(args, addr[, page_size]).",
    "get_tile_size": "(cb) -> i32 page size in bytes.",
    "dprint": "fmt is a str property; operands variadic of any type.",
}

# Problems a verifier would report for specific property / operand-count combinations.
_ALLOWED_SEGMENTS: dict[str, tuple[tuple[int, ...], ...]] = {
    "ttkernel.TensorAccessorArgs": ((1, 1, 0), (0, 0, 1)),
}
_VERIFIER_ENUMS: dict[str, dict[str, tuple[str, ...]]] = {
    "ttkernel.sfpu_reduce_init": {"reduce_type": ("reduce_sum", "reduce_max"), "data_format": ("si32",)},
    "ttkernel.sfpu_reduce": {
        "reduce_type": ("reduce_sum", "reduce_max"),
        "data_format": ("si32",),
        "reduce_dim": ("reduce_dim_row", "reduce_dim_col"),
    },
}


for _n in ("mul_unary_tile", "sub_unary_tile", "div_unary_tile", "power_tile", "add_unary_tile_int32",
           "sub_unary_tile_int32"):
    NOTES.setdefault(_n, NOTES["add_unary_tile"])
for _n in ("noc_async_read_one_packet_set_state", "noc_async_read_one_packet_with_state",
           "noc_async_write_one_packet_with_trid"):
    NOTES.setdefault(_n, "Generic needs operandSegmentSizes (one count per operand group, in order); exactly one of "
                     "core (2 values) or bank (1 value).")


def _operands(spec: str) -> tuple[Operand, ...]:
    out: list[Operand] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        name, ty = item.split(":", 1)
        optional, variadic = ty.endswith("?"), ty.endswith("*")
        ty = ty.rstrip("?*")
        types = "|".join(_ALIAS.get(t, t) for t in ty.split("|"))
        out.append(Operand(name, types, optional, variadic))
    return tuple(out)


def _op(
    name: str, operands: str, res: str = "", props: str = "", kind: str = "", segmented: bool = False,
    regions: int = 0,
) -> OpSig:
    required: dict[str, str] = {}
    optional: dict[str, tuple[str, str | None]] = {}
    for item in props.split():
        pname, pkind = item.lstrip("?").split(":", 1)
        default: str | None = None
        if "=" in pkind:
            pkind, default = pkind.split("=", 1)
        pkind = _PROP_ALIAS.get(pkind, pkind)
        if item.startswith("?"):
            optional[pname] = (pkind, default)
        else:
            required[pname] = pkind
    if segmented:
        required["operandSegmentSizes"] = "segments"
    results = tuple("|".join(_ALIAS.get(t, t) for t in r.strip().split("|")) for r in res.split(",") if r.strip())
    return OpSig(f"ttkernel.{name}", _operands(operands), results, required, optional, kind, segmented,
                 1 if name == "invoke_sfpi" else regions, NOTES.get(name, ""))


_TABLE: tuple[OpSig, ...] = (
    # -- compute setup, DST lock, pack --
    _op("compute_kernel_hw_startup", "icb0:cb, icb1:cb?, ocb:cb", kind="init"),
    _op("experimental.unpack_stall_on_pack", ""),
    _op("tile_regs_acquire", ""),
    _op("tile_regs_commit", ""),
    _op("tile_regs_wait", ""),
    _op("tile_regs_release", ""),
    _op("pack_tile", "dst_index:idx, out_cb:cb, out_index:idx", props="?out_of_order:bool=false"),
    _op("pack_tile_block", "dst_index:idx, out_cb:cb, ntiles:idx"),
    _op("pack_reconfig_l1_acc", "l1_acc_en:i32"),
    _op("pack_reconfig_data_format", "out_cb:cb"),
    _op("reconfig_data_format_srca", "in_cb:cb"),
    # -- CB -> DST copies, typecast, common inits --
    _op("copy_tile_init", "cb0:cb", kind="init"),
    _op("copy_tile", "cb0:cb, tile_index_cb:idx, tile_index_dst:idx"),
    _op("copy_block_matmul_partials", "cb:cb, start_tile_index:idx, start_dst_index:idx, ntiles:idx"),
    _op("typecast_tile_init", "", props="in_dtype:dtype out_dtype:dtype", kind="init"),
    _op("typecast_tile", "dst0_index:idx", props="in_dtype:dtype out_dtype:dtype", kind="sfpu"),
    _op("unary_op_init_common", "icb:cb, ocb:cb", kind="init"),
    _op("binary_op_init_common", "in0_cb:cb, in1_cb:cb, out_cb:cb", kind="init"),
    # -- matmul (FPU) --
    _op("mm_init", "in0_cb:cb, in1_cb:cb, out_cb:cb, transpose:i32", kind="init"),
    _op("mm_init_short", "in0_cb:cb, in1_cb:cb, transpose:i32", kind="init"),
    _op(
        "matmul_tiles",
        "in0_cb_id:cb, in1_cb_id:cb, in0_tile_idx:idx, in1_tile_idx:idx, dst_tile_idx:idx",
        kind="fpu",
    ),
    _op(
        "mm_block_init",
        "in0_cb:cb, in1_cb:cb, out_cb:cb, transpose:i32, ct_dim:i32, rt_dim:i32, kt_dim:i32",
        kind="init",
    ),
    _op(
        "mm_block_init_short",
        "in0_cb:cb, in1_cb:cb, transpose:i32, ct_dim:i32, rt_dim:i32, kt_dim:i32",
        kind="init",
    ),
    _op(
        "matmul_block",
        "in0_cb_id:cb, in1_cb_id:cb, in0_tile_idx:idx, in1_tile_idx:idx, dst_tile_idx:idx, transpose:i32, "
        "ct_dim:i32, rt_dim:i32, kt_dim:i32",
        kind="fpu",
    ),
    _op(
        "experimental.matmul_block",
        "in0_cb_id:cb, in1_cb_id:cb, in0_tile_idx:idx, in1_tile_idx:idx, dst_tile_idx:idx, transpose:i32, "
        "ct_dim:i32, rt_dim:i32, kt_dim:i32, in1_k_stride:i32",
        kind="fpu",
    ),
    # -- top-k (SFPU) --
    _op("topk_tile_init", "", kind="init"),
    _op("topk_local_sort", "idst:idx, idir:i32, i_end_phase:i32, i_start_phase:i32", kind="sfpu"),
    _op("topk_merge", "idst:idx, m_iter:i32, k:i32", kind="sfpu"),
    _op("topk_rebuild", "idst:idx, idir:i32, m_iter:i32, k:i32, logk:i32, skip_second:i32", kind="sfpu"),
    # -- FPU eltwise binary, dest reuse, broadcast --
    _op("add_tiles_init", "in0_cb:cb, in1_cb:cb", kind="init"),
    _op("add_tiles", "in0_cb:cb, in1_cb:cb, in0_tile_index:idx, in1_tile_index:idx, dst_index:idx", kind="fpu"),
    _op("sub_tiles_init", "in0_cb:cb, in1_cb:cb", kind="init"),
    _op("sub_tiles", "in0_cb:cb, in1_cb:cb, in0_tile_index:idx, in1_tile_index:idx, dst_index:idx", kind="fpu"),
    _op("mul_tiles_init", "in0_cb:cb, in1_cb:cb", kind="init"),
    _op("mul_tiles", "in0_cb:cb, in1_cb:cb, in0_tile_index:idx, in1_tile_index:idx, dst_index:idx", kind="fpu"),
    _op(
        "binary_dest_reuse_tiles_init",
        "in_cb:cb",
        props="eltwise_binary_type:eltwise_binary_type reuse_type:reuse_type",
        kind="init",
    ),
    _op(
        "binary_dest_reuse_tiles",
        "in_cb:cb, in_tile_index:idx, dst_tile_index:idx",
        props="eltwise_binary_type:eltwise_binary_type reuse_type:reuse_type",
        kind="fpu",
    ),
    _op("unary_bcast_init", "in_cb:cb, out_cb:cb", props="bcast_type:bcast_type", kind="init"),
    _op("unary_bcast", "in_cb:cb, in_tile_index:idx, dst_tile_index:idx", props="bcast_type:bcast_type", kind="fpu"),
    # -- reductions --
    _op(
        "reduce_init",
        "in_cb:cb, scaling_cb:cb, out_cb:cb",
        props="reduce_type:reduce_type reduce_dim:reduce_dim",
        kind="init",
    ),
    _op("reduce_uninit", "", kind="init"),
    _op(
        "reduce_tile",
        "in_cb:cb, scaling_cb:cb, in_tile_index:idx, scaling_tile_index:idx, dst_index:idx",
        props="reduce_type:reduce_type reduce_dim:reduce_dim",
        kind="fpu",
    ),
    _op("sfpu_reduce_init", "", props="reduce_type:reduce_type data_format:dtype", kind="init"),
    _op("max_reduce_with_indices_init", "", kind="init"),
    _op(
        "max_reduce_with_indices",
        "idst:idx, idst_idx:idx, chunk:idx",
        props="?num_rows:i32=32 ?accumulate:bool=false",
        kind="sfpu",
    ),
    _op(
        "sfpu_reduce",
        "dst_index:idx",
        props="reduce_type:reduce_type data_format:dtype reduce_dim:reduce_dim",
        kind="sfpu",
    ),
    # -- SFPU DST->DST: copy, binary, where, clamp --
    _op("init_sfpu", "icb:cb, ocb:cb", kind="init"),
    _op("copy_dest_values_init", "", kind="init"),
    _op("copy_dest_values", "idst_in:idx, idst_out:idx", props="data_format:dtype", kind="sfpu"),
    _op("binary_max_tile_init", "", kind="init"),
    _op("binary_max_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("binary_min_tile_init", "", kind="init"),
    _op("binary_min_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("binary_max_int32_tile_init", "", kind="init"),
    _op("binary_max_int32_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("binary_min_int32_tile_init", "", kind="init"),
    _op("binary_min_int32_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("clamp_tile_init", "", kind="init"),
    _op("clamp_tile", "dst_index:idx, min_param:i32, max_param:i32", kind="sfpu"),
    _op("clamp_tile_int32", "dst_index:idx, min_param:i32, max_param:i32", kind="sfpu"),
    _op("where_tile_init", "", kind="init"),
    _op(
        "where_tile",
        "dst_cond_index:idx, dst_true_index:idx, dst_false_index:idx, odst_index:idx",
        props="dtype:dtype",
        kind="sfpu",
    ),
    _op("add_binary_tile_init", "", kind="init"),
    _op("add_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("add_int_tile_init", "", kind="init"),
    _op("add_int_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", props="dtype:dtype", kind="sfpu"),
    _op("mul_binary_tile_init", "", kind="init"),
    _op("mul_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("mul_int_tile_init", "", props="dtype:dtype", kind="init"),
    _op("mul_int_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", props="dtype:dtype", kind="sfpu"),
    _op("sub_binary_tile_init", "", kind="init"),
    _op("sub_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("sub_int_tile_init", "", kind="init"),
    _op("sub_int_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", props="dtype:dtype", kind="sfpu"),
    _op("div_binary_tile_init", "", kind="init"),
    _op("div_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("eq_binary_tile_init", "", kind="init"),
    _op("eq_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("ne_binary_tile_init", "", kind="init"),
    _op("ne_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("gt_binary_tile_init", "", kind="init"),
    _op("gt_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("lt_binary_tile_init", "", kind="init"),
    _op("lt_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("ge_binary_tile_init", "", kind="init"),
    _op("ge_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("le_binary_tile_init", "", kind="init"),
    _op("le_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("binary_bitwise_tile_init", "", kind="init"),
    _op(
        "bitwise_and_binary_tile",
        "dst0_index:idx, dst1_index:idx, odst_index:idx",
        props="dtype:dtype",
        kind="sfpu",
    ),
    _op("bitwise_or_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", props="dtype:dtype", kind="sfpu"),
    _op(
        "bitwise_xor_binary_tile",
        "dst0_index:idx, dst1_index:idx, odst_index:idx",
        props="dtype:dtype",
        kind="sfpu",
    ),
    _op("binary_shift_tile_init", "", kind="init"),
    _op("binary_left_shift_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", props="dtype:dtype", kind="sfpu"),
    _op(
        "binary_right_shift_tile",
        "dst0_index:idx, dst1_index:idx, odst_index:idx",
        props="dtype:dtype",
        kind="sfpu",
    ),
    _op(
        "binary_logical_right_shift_tile",
        "dst0_index:idx, dst1_index:idx, odst_index:idx",
        props="dtype:dtype",
        kind="sfpu",
    ),
    # -- SFPU scalar forms --
    _op("binop_with_scalar_tile_init", "", kind="init"),
    _op("add_unary_tile", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("mul_unary_tile", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("sub_unary_tile", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("add_unary_tile_int32", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("sub_unary_tile_int32", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("div_unary_tile", "dst0_index:idx, param:i32", kind="sfpu"),
    _op("power_tile_init", "", kind="init"),
    _op("power_tile", "dst0_index:idx, param:i32", kind="sfpu"),
    # -- SFPU unary --
    _op("recip_tile_init", "", kind="init"),
    _op("recip_tile", "tile_index:idx", kind="sfpu"),
    _op("power_binary_tile_init", "", kind="init"),
    _op("power_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("exp_tile_init", "", props="?approx:bool ?scale:i32 ?input_clamping:input_clamping", kind="init"),
    _op(
        "exp_tile",
        "tile_index:idx",
        props="?approx:bool ?input_clamping:input_clamping ?iterations:i32 ?scale:i32",
        kind="sfpu",
    ),
    _op("exp2_tile_init", "", kind="init"),
    _op("exp2_tile", "tile_index:idx", kind="sfpu"),
    _op("expm1_tile_init", "", kind="init"),
    _op("expm1_tile", "tile_index:idx", kind="sfpu"),
    _op("log_tile_init", "", kind="init"),
    _op("log_tile", "tile_index:idx", kind="sfpu"),
    _op("log1p_tile_init", "", kind="init"),
    _op("log1p_tile", "tile_index:idx", kind="sfpu"),
    _op("negative_tile_init", "", kind="init"),
    _op("negative_tile", "tile_index:idx", kind="sfpu"),
    _op("negative_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("cos_tile_init", "", kind="init"),
    _op("cos_tile", "tile_index:idx", kind="sfpu"),
    _op("tan_tile_init", "", kind="init"),
    _op("tan_tile", "tile_index:idx", kind="sfpu"),
    _op("tanh_tile_init", "", kind="init"),
    _op("tanh_tile", "dst0_index:idx", kind="sfpu"),
    _op("sqrt_tile_init", "", kind="init"),
    _op("sqrt_tile", "tile_index:idx", kind="sfpu"),
    _op("rsqrt_tile_init", "", kind="init"),
    _op("rsqrt_tile", "tile_index:idx", kind="sfpu"),
    _op("sin_tile_init", "", kind="init"),
    _op("sin_tile", "dst0_index:idx", kind="sfpu"),
    _op("asin_tile_init", "", kind="init"),
    _op("asin_tile", "dst0_index:idx", kind="sfpu"),
    _op("acos_tile_init", "", kind="init"),
    _op("acos_tile", "dst0_index:idx", kind="sfpu"),
    _op("atan_tile_init", "", kind="init"),
    _op("atan_tile", "dst0_index:idx", kind="sfpu"),
    _op("atan2_binary_tile_init", "", kind="init"),
    _op("atan2_binary_tile", "dst0_index:idx, dst1_index:idx, odst_index:idx", kind="sfpu"),
    _op("rounding_op_tile_init", "", kind="init"),
    _op("ceil_tile", "dst0_index:idx", kind="sfpu"),
    _op("floor_tile", "dst0_index:idx", kind="sfpu"),
    _op("frac_tile", "tile_index:idx", kind="sfpu"),
    _op("trunc_tile", "tile_index:idx", kind="sfpu"),
    _op("abs_tile_init", "", kind="init"),
    _op("abs_tile", "dst0_index:idx", kind="sfpu"),
    _op("abs_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("bitwise_not_tile_init", "", kind="init"),
    _op("bitwise_not_tile", "tile_index:idx", kind="sfpu"),
    _op("sign_tile_init", "", kind="init"),
    _op("sign_tile", "tile_index:idx", kind="sfpu"),
    _op("signbit_tile_init", "", kind="init"),
    _op("signbit_tile", "tile_index:idx", kind="sfpu"),
    _op("square_tile_init", "", kind="init"),
    _op("square_tile", "tile_index:idx", kind="sfpu"),
    _op("logical_not_tile_init", "", kind="init"),
    _op("logical_not_tile", "dst0_index:idx", props="dtype:dtype", kind="sfpu"),
    _op("eqz_tile_init", "", kind="init"),
    _op("eqz_tile", "dst0_index:idx", kind="sfpu"),
    _op("eqz_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("nez_tile_init", "", kind="init"),
    _op("nez_tile", "dst0_index:idx", kind="sfpu"),
    _op("nez_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("gtz_tile_init", "", kind="init"),
    _op("gtz_tile", "dst0_index:idx", kind="sfpu"),
    _op("gtz_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("gez_tile_init", "", kind="init"),
    _op("gez_tile", "dst0_index:idx", kind="sfpu"),
    _op("gez_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("ltz_tile_init", "", kind="init"),
    _op("ltz_tile", "dst0_index:idx", kind="sfpu"),
    _op("ltz_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("lez_tile_init", "", kind="init"),
    _op("lez_tile", "dst0_index:idx", kind="sfpu"),
    _op("lez_tile_int32", "dst0_index:idx", kind="sfpu"),
    _op("fill_tile_init", "", kind="init"),
    _op("fill_tile", "dst_index:idx, value:f32", kind="sfpu"),
    _op("fill_tile_int", "dst_index:idx, value:i32", kind="sfpu"),
    _op("rand_tile_init", "seed:idx", kind="init"),
    _op("rand_tile", "tile_index:idx, from:idx, scale:idx", kind="sfpu"),
    _op("sigmoid_tile_init", "", kind="init"),
    _op("sigmoid_tile", "tile_index:idx", kind="sfpu"),
    _op("hardsigmoid_tile_init", "", kind="init"),
    _op("hardsigmoid_tile", "tile_index:idx", kind="sfpu"),
    _op("silu_tile_init", "", kind="init"),
    _op("silu_tile", "tile_index:idx", kind="sfpu"),
    _op("softsign_tile_init", "", kind="init"),
    _op("softsign_tile", "tile_index:idx", kind="sfpu"),
    _op("relu_tile_init", "", kind="init"),
    _op("relu_tile", "tile_index:idx", kind="sfpu"),
    _op("relu_tile_int32", "tile_index:idx", kind="sfpu"),
    _op("gelu_tile_init", "", kind="init"),
    _op("gelu_tile", "tile_index:idx", kind="sfpu"),
    _op("selu_tile_init", "", kind="init"),
    _op("selu_tile", "tile_index:idx, scale:i32, alpha:i32", kind="sfpu"),
    _op("erf_tile_init", "", kind="init"),
    _op("erf_tile", "tile_index:idx", kind="sfpu"),
    _op("erfc_tile_init", "", kind="init"),
    _op("erfc_tile", "tile_index:idx", kind="sfpu"),
    # -- custom SFPI region --
    _op("invoke_sfpi", "", kind="sfpu"),
    # -- circular buffers, layout, masks, transpose --
    _op("cb_push_back", "cb:cb, numPages:i32"),
    _op("cb_pop_front", "cb:cb, numPages:i32"),
    _op("cb_reserve_back", "cb:cb, numPages:i32"),
    _op("cb_wait_front", "cb:cb, numPages:i32"),
    _op("tilize_block", "cbIn:cb, numTiles:i32, cbOut:cb"),
    _op("experimental.tilize_block", "cbIn:cb, cbOut:cb, blockR:i32, blockC:i32"),
    _op("tilize_init", "cbIn:cb, numTiles:i32, cbOut:cb", kind="init"),
    _op("tilize_uninit", "cbI:cb, cbOut:cb"),
    _op("untilize_block", "cbIn:cb, numTiles:i32, cbOut:cb"),
    _op("experimental.untilize_block", "cbIn:cb, cbOut:cb, blockR:i32, blockC:i32"),
    _op("pack_untilize_init", "cbIn:cb, cbOut:cb", props="?colsPerDstPass:i32=1 ?totalColTiles:i32=1", kind="init"),
    _op("pack_untilize_uninit", "cbOut:cb"),
    _op(
        "experimental.pack_untilize_block",
        "cbIn:cb, cbOut:cb, blockR:i32, blockC:i32",
        props="colsPerDstPass:i32 totalColTiles:i32",
    ),
    _op("experimental.write_row_mask_tile", "validRows:i32, cb:cb"),
    _op("experimental.write_col_mask_tile", "validCols:i32, cb:cb"),
    _op("experimental.fill_arange_tile", "cb:cb"),
    _op("untilize_init", "cbIn:cb", kind="init"),
    _op("untilize_uninit", "cbIn:cb"),
    _op("transpose_wh_init", "cbIn:cb, cbOut:cb"),
    _op("transpose_wh_tile", "icb:cb, itile:idx, idst:idx"),
    # -- NoC transfers and barriers --
    _op("get_noc_addr", "x:idx, y:idx, l1Address:i32|l1|sem, noc:i8?", res="noc_addr"),
    _op("get_noc_addr_from_bank_id", "bank_id:i32, bankAddressOffset:i32", res="noc_addr"),
    _op(
        "noc_async_read",
        "srcCoreXY:idx*, srcBankId:i32*, srcAddress:i32, dstLocalL1Addr:i32, size:i32, noc:i8?",
        segmented=True,
    ),
    _op("noc_async_read_tile", "id:i32, addrGenStruct:ta, dstLocalL1Addr:i32, noc:i8?"),
    _op(
        "noc_async_read_one_packet_set_state",
        "srcCoreXY:idx*, srcBankId:i32*, srcAddress:i32, size:i32, noc:i8?",
        segmented=True,
    ),
    _op(
        "noc_async_read_one_packet_with_state",
        "srcCoreXY:idx*, srcBankId:i32*, srcAddress:i32, dstLocalL1Addr:i32|l1, size:i32, noc:i8?",
        segmented=True,
    ),
    _op("noc_async_read_barrier", "noc:i8?"),
    _op("noc_async_read_barrier_with_trid", "trid:i32, noc:i8?"),
    _op(
        "noc_async_write",
        "srcLocalL1Addr:i32, dstCoreXY:idx*, dstBankId:i32*, dstAddress:i32, size:i32, noc:i8?",
        segmented=True,
    ),
    _op("noc_async_write_tile", "id:idx, addrGenStruct:ta, srcLocalL1Addr:i32, noc:i8?"),
    _op(
        "noc_async_write_one_packet_with_trid",
        "srcLocalL1Addr:i32, dstCoreXY:idx*, dstBankId:i32*, dstAddress:i32, size:i32, trid:i32, noc:i8?",
        segmented=True,
    ),
    _op("noc_async_write_barrier", "noc:i8?"),
    _op("noc_async_atomic_barrier", "noc:i8?"),
    _op("noc_async_write_barrier_with_trid", "trid:i32, noc:i8?"),
    # -- semaphores --
    _op("get_semaphore", "semaphore:idx", res="sem"),
    _op("noc_semaphore_inc", "addr:noc_addr, incr:idx, noc:i8?", props="?posted:bool"),
    _op("noc_semaphore_set", "sem_addr:l1p, val:idx"),
    _op("remote_sram_write_u32", "src_sram_addr:i32|l1|sem, dst_remote_addr:noc_addr, noc:i8?"),
    _op("noc_inline_dw_write", "dstNocX:idx, dstNocY:idx, dstAddress:i32, val:i32, byte_enable:i8, noc:i8?"),
    _op("experimental.semaphore_wait", "sem_addr:l1p, val:idx"),
    _op("experimental.semaphore_wait_min", "sem_addr:l1p, val:i32"),
    _op(
        "noc_semaphore_set_multicast",
        "src_local_l1_addr:l1|sem, dst_noc_addr_multicast:noc_addr, num_dests:i32",
        props="?linked:bool",
    ),
    _op(
        "noc_semaphore_set_multicast_loopback_src",
        "src_local_l1_addr:l1|sem, dst_noc_addr_multicast:noc_addr, num_dests:i32",
        props="?linked:bool",
    ),
    _op("noc_semaphore_inc_multicast", "addr:noc_addr, incr:idx, num_dests:i32, noc:i8?", props="?posted:bool"),
    # -- kernel arguments, L1 access, core coordinates --
    _op("get_arg_val", "arg_index:idx", res="argval"),
    _op("get_common_arg_val", "arg_index:idx", res="argval"),
    _op("get_compile_time_arg_val", "", res="argval", props="arg_index:i32"),
    _op("bitcast", "input:ui32", res="any"),
    _op("reinterpret_cast", "addr:i32|l1|sem", res="l1p"),
    _op("store_to_l1", "value:i8|i16|i32, l1_ptr:l1p, offset:i32"),
    _op("load_from_l1", "l1_ptr:l1p, offset:i32", res="i8|i16|i32"),
    _op("my_x", "noc:i8?", res="index"),
    _op("my_y", "noc:i8?", res="index"),
    _op("my_logical_x_", "", res="index"),
    _op("my_logical_y_", "", res="index"),
    _op("experimental.convert_logical_x_to_translated", "logical_x:idx", res="idx"),
    _op("experimental.convert_logical_y_to_translated", "logical_y:idx", res="idx"),
    _op("experimental.get_my_device_id", "", res="i16"),
    # -- fabric (multi-device) --
    _op(
        "experimental.fabric_fast_write_any_len",
        "fabric_connection_manager:fcm, dst_mesh_id:i16, dst_dev_id:i16, dst_addr:noc_addr, src_addr:i32, "
        "len_bytes:i32",
    ),
    _op(
        "experimental.fabric_mcast_fast_write_any_len",
        "fabric_connection_manager:fcm, dst_mesh_id:i16, dst_dev_id_start:i16, dst_dev_id_end:i16, "
        "dst_addr:noc_addr, src_addr:i32, len_bytes:i32",
    ),
    _op(
        "experimental.fabric_sem_inc",
        "fabric_connection_manager:fcm, dst_mesh_id:i16, dst_dev_id:i16, semaphore_addr:noc_addr, incr:idx",
    ),
    _op(
        "experimental.fabric_mcast_sem_inc",
        "fabric_connection_manager:fcm, dst_mesh_id:i16, dst_dev_id_start:i16, dst_dev_id_end:i16, "
        "semaphore_addr:noc_addr, incr:idx",
    ),
    _op("experimental.create_fabric_connection_manager", "", res="fcm"),
    _op("experimental.setup_fabric_connections", "fabric_connection_manager:fcm"),
    _op("experimental.close_fabric_connections", "fabric_connection_manager:fcm"),
    _op("experimental.get_my_logical_mesh_position", "fcm:fcm", res="index", props="dim:i64"),
    _op("experimental.get_device_id_from_logical_mesh_position", "fcm:fcm, position_indices:index*", res="i16"),
    # -- multicast --
    _op(
        "get_noc_multicast_addr",
        "noc_x_start:idx, noc_y_start:idx, noc_x_end:idx, noc_y_end:idx, addr:i32|l1|sem, noc:i8?",
        res="noc_addr",
    ),
    _op(
        "noc_async_write_multicast_one_packet",
        "srcLocalL1Addr:i32, size:i32, num_dests:i32, dstNocXStart:idx, dstNocYStart:idx, dstNocXEnd:idx, "
        "dstNocYEnd:idx, dstLocalL1Addr:i32, noc:i8?",
        props="?linked:bool",
    ),
    _op(
        "noc_async_write_multicast",
        "srcLocalL1Addr:i32, size:i32, num_dests:i32, dstNocXStart:idx, dstNocYStart:idx, dstNocXEnd:idx, "
        "dstNocYEnd:idx, dstLocalL1Addr:i32, noc:i8?",
        props="?linked:bool",
    ),
    _op(
        "noc_async_write_multicast_loopback_src",
        "srcLocalL1Addr:i32, size:i32, num_dests:i32, dstNocXStart:idx, dstNocYStart:idx, dstNocXEnd:idx, "
        "dstNocYEnd:idx, dstLocalL1Addr:i32, noc:i8?",
        props="?linked:bool",
    ),
    # -- TensorAccessor --
    _op(
        "TensorAccessorArgs",
        "cta_base:i32?, crta_base:i32?, prev_args:taa?",
        res="taa",
        props="?cta_expr:str ?crta_expr:str",
        segmented=True,
    ),
    _op("TensorAccessor", "args:taa, bank_base_address_in:i32, page_size_in:i32?", res="ta"),
    _op("tensor_accessor.get_noc_addr", "tensor_accessor:ta, id:i32, offset:i32, noc:i8?", res="noc_addr"),
    _op("tensor_accessor.get_shard_noc_addr", "tensor_accessor:ta, shard_id:i32, offset:i32, noc:i8?", res="i32"),
    _op("tensor_accessor.get_bank_and_offset", "tensor_accessor:ta, page_id:i32", res="pagemap"),
    _op("tensor_accessor.is_local_bank", "tensor_accessor:ta, id:i32, offset:i32, noc:i8?", res="i1"),
    _op("tensor_accessor.is_local_addr", "tensor_accessor:ta, virtual_x:i32, virtual_y:i32, noc:i8?", res="i1"),
    _op("tensor_accessor.is_local_page", "tensor_accessor:ta, page_id:i32, noc:i8?", res="i1"),
    _op("tensor_accessor.is_local_shard", "tensor_accessor:ta, shard_id:i32, noc:i8?", res="i1"),
    # -- misc --
    _op("unreachable", ""),
    _op("mem_zeros_base", "", res="i32"),
    _op("mem_zeros_size", "", res="i32"),
    _op("get_write_ptr", "cb:cb", res="i32"),
    _op("get_read_ptr", "cb:cb", res="i32"),
    _op("get_tile_size", "cb:cb", res="i32"),
    _op("get_dataformat", "cb:cb", res="df"),
    _op("bfloat16_greater", "bf16_a:i16, bf16_b:i16", res="i1"),
    _op("float32_greater", "f32_a:i32, f32_b:i32", res="i1"),
    _op("dprint", "argv:any*", props="fmt:str"),
)

SIGNATURES: dict[str, OpSig] = {sig.name: sig for sig in _TABLE}

# Ops tteqsat emits today or plans to (lowering/mlir.py, lowering/dataflow.py), for quick reference.
EMITTED: tuple[str, ...] = tuple(
    f"ttkernel.{n}"
    for n in (
        "cb_wait_front cb_pop_front cb_reserve_back cb_push_back tile_regs_acquire tile_regs_commit "
        "tile_regs_wait tile_regs_release pack_tile pack_reconfig_l1_acc unary_bcast_init unary_bcast "
        "transpose_wh_init transpose_wh_tile reduce_init reduce_tile reduce_uninit mm_init mm_init_short "
        "mm_block_init mm_block_init_short matmul_tiles matmul_block get_compile_time_arg_val get_arg_val "
        "get_common_arg_val fill_tile_init fill_tile exp_tile_init exp_tile copy_tile_init copy_tile "
        "copy_dest_values_init copy_dest_values compute_kernel_hw_startup binop_with_scalar_tile_init "
        "add_unary_tile sub_unary_tile mul_unary_tile div_unary_tile binary_dest_reuse_tiles_init "
        "binary_dest_reuse_tiles add_tiles_init add_tiles sub_tiles_init sub_tiles mul_tiles_init mul_tiles "
        "exp_tile log_tile_init log_tile sqrt_tile_init sqrt_tile rsqrt_tile_init rsqrt_tile recip_tile_init "
        "recip_tile abs_tile_init abs_tile relu_tile_init relu_tile sigmoid_tile_init sigmoid_tile "
        "tanh_tile_init tanh_tile gelu_tile_init gelu_tile silu_tile_init silu_tile negative_tile_init "
        "negative_tile square_tile_init square_tile add_binary_tile_init add_binary_tile sub_binary_tile_init "
        "sub_binary_tile mul_binary_tile_init mul_binary_tile div_binary_tile_init div_binary_tile "
        "binary_max_tile_init binary_max_tile binary_min_tile_init binary_min_tile where_tile_init where_tile "
        "experimental.write_row_mask_tile experimental.write_col_mask_tile experimental.fill_arange_tile "
        "TensorAccessorArgs TensorAccessor noc_async_read_tile noc_async_write_tile noc_async_read_barrier "
        "noc_async_write_barrier get_read_ptr get_write_ptr get_tile_size get_dataformat get_semaphore "
        "reinterpret_cast noc_semaphore_set noc_semaphore_inc experimental.semaphore_wait get_noc_addr "
        "get_noc_multicast_addr noc_async_write_multicast noc_semaphore_set_multicast"
    ).split()
)


# Ops whose C++ lowering (convert-ttkernel-to-emitc) fails without the optional `noc` operand: it picks the
# `Noc nocN(N);` object from a constant i8 (TTKernelToEmitC.cpp, ensureNocDeclaration). Tile reads/writes and
# the one-packet / inline / trid forms need that i8 to be an arith.constant.
EMITC_NEEDS_NOC: frozenset[str] = frozenset(
    f"ttkernel.{n}"
    for n in (
        "get_noc_addr noc_async_read noc_async_write noc_async_read_tile noc_async_write_tile "
        "noc_async_read_barrier noc_async_write_barrier noc_async_atomic_barrier noc_async_read_barrier_with_trid "
        "noc_async_write_barrier_with_trid noc_async_read_one_packet_set_state noc_async_read_one_packet_with_state "
        "noc_async_write_one_packet_with_trid noc_inline_dw_write noc_async_write_multicast "
        "noc_async_write_multicast_one_packet noc_async_write_multicast_loopback_src"
    ).split()
)


def _is_int(text: str) -> bool:
    text = text.strip()
    return text.lstrip("-").isdigit() and text.count("-") <= 1


def _base_type(ty: str) -> tuple[str, str]:
    """(type key used in the signature, problem text or '') for one printed type."""
    ty = ty.strip()
    if ty.startswith("!ttkernel.cb"):
        inner = ty[len("!ttkernel.cb"):]
        if not (inner.startswith("<") and inner.endswith(">")):
            return "!ttkernel.cb", f"malformed CB type {ty!r} (expected !ttkernel.cb<num_elements, element_type>)"
        count, _, elem = inner[1:-1].partition(",")
        if not count.strip().isdigit() or not elem.strip():
            return "!ttkernel.cb", f"malformed CB type {ty!r} (expected !ttkernel.cb<num_elements, element_type>)"
        return "!ttkernel.cb", ""
    if ty.startswith("!ttkernel.l1_addr_ptr"):
        width = ty[len("!ttkernel.l1_addr_ptr"):]
        if width and width not in ("<8>", "<16>", "<32>"):
            return "!ttkernel.l1_addr_ptr", f"l1_addr_ptr width must be 8, 16 or 32, got {ty!r}"
        return "!ttkernel.l1_addr_ptr", ""
    if ty == "!ttkernel.interleaved_addr_gen_fast":
        return ty, "!ttkernel.interleaved_addr_gen_fast no longer exists on tt-mlir main; use !ttkernel.TensorAccessor"
    return ty, ""


def _type_ok(ty: str, allowed: str) -> tuple[bool, str]:
    key, problem = _base_type(ty)
    if problem:
        return False, problem
    return allowed == "*" or key in allowed.split("|"), ""


def _segment_counts(value: str) -> list[int] | None:
    value = value.strip()
    if not (value.startswith("array<i32") and value.endswith(">")):
        return None
    body = value[len("array<i32"):-1].strip()
    if not body:
        return []
    if not body.startswith(":"):
        return None
    parts = [p.strip() for p in body[1:].split(",")]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def _value_problem(op: str, prop: str, kind: str, value: str) -> str:
    value = value.strip()
    where = f"{op}: property {prop}"
    if kind == "bool":
        return "" if value in ("true", "false") else f"{where} must be true or false, got {value!r}"
    if kind == "i32":
        ok = value.endswith(" : i32") and _is_int(value[: -len(" : i32")])
        return "" if ok else f"{where} must be printed as '<int> : i32', got {value!r}"
    if kind == "i64":
        ok = _is_int(value) or (value.endswith(" : i64") and _is_int(value[: -len(" : i64")]))
        return "" if ok else f"{where} must be an integer, got {value!r}"
    if kind == "str":
        ok = len(value) >= 2 and value.startswith('"') and value.endswith('"')
        return "" if ok else f"{where} must be a quoted string, got {value!r}"
    if kind == "segments":
        return "" if _segment_counts(value) is not None else f"{where} must be array<i32: ...>, got {value!r}"
    if kind in ENUMS:
        if not (value.startswith(kind + "<") and value.endswith(">")):
            return f"{where} must be printed as {kind}<...>, got {value!r}"
        inner = value[len(kind) + 1:-1].strip()
        if inner not in ENUMS[kind]:
            return f"{where}: {inner!r} is not one of {', '.join(ENUMS[kind])}"
        return ""
    return f"{where}: unknown property kind {kind!r} (table error)"


def _group_sizes(sig: OpSig, n: int, properties: dict[str, str], problems: list[str]) -> list[int] | None:
    """How many operands each operand group takes, or None if that cannot be worked out."""
    groups = sig.operands
    if sig.segmented:
        raw = properties.get("operandSegmentSizes")
        counts = _segment_counts(raw) if raw is not None else None
        if counts is None:
            return None  # reported as a property problem
        if len(counts) != len(groups):
            problems.append(f"{sig.name}: operandSegmentSizes has {len(counts)} entries, expected {len(groups)} "
                            f"({', '.join(g.name for g in groups)})")
            return None
        if sum(counts) != n:
            problems.append(f"{sig.name}: operandSegmentSizes adds up to {sum(counts)} but {n} operands were given")
            return None
        for g, c in zip(groups, counts, strict=True):
            if not (g.optional or g.variadic) and c != 1:
                problems.append(f"{sig.name}: operand group {g.name} must have exactly 1 value, segment says {c}")
            elif g.optional and c > 1:
                problems.append(f"{sig.name}: optional operand {g.name} can have at most 1 value, segment says {c}")
        allowed = _ALLOWED_SEGMENTS.get(sig.name)
        if allowed is not None and tuple(counts) not in allowed:
            problems.append(f"{sig.name}: operand groups {tuple(counts)} not accepted by the verifier "
                            f"(allowed: {', '.join(str(a) for a in allowed)})")
        return counts
    fixed = sum(1 for g in groups if not (g.optional or g.variadic))
    variable = [g for g in groups if g.optional or g.variadic]
    extra = n - fixed
    names = ", ".join(g.name + ("?" if g.optional else "*" if g.variadic else "") for g in groups)
    if extra < 0 or (not variable and extra) or (variable and not variable[0].variadic and extra > 1):
        lo, hi = fixed, fixed + (0 if not variable else 1 if not variable[0].variadic else 10**9)
        want = str(lo) if lo == hi else f"{lo}..{hi}" if hi < 10**9 else f"at least {lo}"
        problems.append(f"{sig.name}: expected {want} operands ({names}), got {n}")
        return None
    return [1 if not (g.optional or g.variadic) else extra for g in groups]


def check_op(
    name: str, operand_types: list[str], result_types: list[str], properties: dict[str, str], *, emitc: bool = True
) -> list[str]:
    """Problems with one generic-form op against tt-mlir main; [] when it matches.

    ``name`` is the full op name ("ttkernel.pack_tile"); ops of other dialects (arith, scf, func) are out of
    scope and give []. ``operand_types`` / ``result_types`` are printed types, ``properties`` maps property
    names to their printed values (the contents of ``<{...}>``; inherent attributes written in a trailing
    ``{...}`` dict count as properties too). With ``emitc`` (the default) an op that is valid IR but that
    convert-ttkernel-to-emitc cannot lower (a NoC op without its ``noc`` operand, see EMITC_NEEDS_NOC) is
    reported as well.
    """
    if not name.startswith("ttkernel."):
        return []
    sig = SIGNATURES.get(name)
    if sig is None:
        hint = REMOVED.get(name)
        if hint is None and name.startswith("ttkernel.experimental::"):
            hint = "experimental ops are spelled ttkernel.experimental.<name> since d41bdeb769 (2026-06-17)"
        return [f"{name}: unknown op on tt-mlir main" + (f" ({hint})" if hint else "")]
    problems: list[str] = []

    # properties
    for prop, kind in sig.required.items():
        if prop not in properties:
            example = PROPERTY_KINDS.get(kind, kind)
            problems.append(f"{name}: missing required property {prop} ({example})")
    for prop, value in properties.items():
        kind = sig.required.get(prop) or (sig.optional[prop][0] if prop in sig.optional else None)
        if kind is None:
            known = ", ".join([*sig.required, *sig.optional]) or "none"
            problems.append(f"{name}: unknown property {prop} (known: {known})")
            continue
        problem = _value_problem(name, prop, kind, value)
        if problem:
            problems.append(problem)
            continue
        limits = _VERIFIER_ENUMS.get(name, {}).get(prop)
        if limits is not None and value[value.index("<") + 1:-1].strip() not in limits:
            problems.append(f"{name}: verifier accepts only {', '.join(limits)} for {prop}, got {value!r}")

    # operands
    sizes = _group_sizes(sig, len(operand_types), properties, problems)
    if sizes is not None:
        pos = 0
        for group, size in zip(sig.operands, sizes, strict=True):
            for k in range(size):
                ok, why = _type_ok(operand_types[pos], group.types)
                label = group.name if size == 1 else f"{group.name}[{k}]"
                if why:
                    problems.append(f"{name}: operand {pos} ({label}): {why}")
                elif not ok:
                    problems.append(f"{name}: operand {pos} ({label}) has type {operand_types[pos]!r}, "
                                    f"expected {group.types}")
                pos += 1
        if sig.name in ("ttkernel.noc_async_read", "ttkernel.noc_async_write",
                        "ttkernel.noc_async_read_one_packet_set_state", "ttkernel.noc_async_read_one_packet_with_state",
                        "ttkernel.noc_async_write_one_packet_with_trid"):
            by_name = dict(zip((g.name for g in sig.operands), sizes, strict=True))
            core = by_name.get("srcCoreXY", by_name.get("dstCoreXY", 0))
            bank = by_name.get("srcBankId", by_name.get("dstBankId", 0))
            if (core, bank) not in ((2, 0), (0, 1)):
                problems.append(f"{name}: give either core[x, y] (2 values) or bank[id] (1 value), "
                                f"got {core} and {bank}")
        if emitc and name in EMITC_NEEDS_NOC:
            noc = dict(zip((g.name for g in sig.operands), sizes, strict=True)).get("noc", 0)
            if noc == 0:
                problems.append(f"{name}: no noc operand; valid IR, but convert-ttkernel-to-emitc needs an i8 "
                                "arith.constant noc (0 or 1) here")

    # results
    if len(result_types) != len(sig.results):
        problems.append(f"{name}: expected {len(sig.results)} result(s), got {len(result_types)}")
    else:
        for k, (ty, allowed) in enumerate(zip(result_types, sig.results, strict=True)):
            ok, why = _type_ok(ty, allowed)
            if why:
                problems.append(f"{name}: result {k}: {why}")
            elif not ok:
                problems.append(f"{name}: result {k} has type {ty!r}, expected {allowed}")
    return problems
