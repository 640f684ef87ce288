"""Check a whole emitted module against tt-mlir main: every TTKernel op against the signature table, and the
rules that tie ops to their function's ``ttkernel.arg_spec`` (which tt-mlir's verifiers and its EmitC
conversion enforce).

Per op: `ttkernel_signatures.check_op` (name, operand and result types, required and optional properties,
enum spellings, ``operandSegmentSizes``, the ``noc`` operand EmitC needs). Per function: the arg spec parses and
lists accessor blocks last; ``get_compile_time_arg_val`` indices name entries of ``ct_args`` before the
accessor blocks (a CB-typed one a ``cb_port``); runtime-arg indices stay inside the common / per-core
``rt_args``; a ``TensorAccessorArgs`` with literal bases takes them from ``arith.constant`` (its verifier) and
the first one starts at the first accessor block; NoC operands are ``i8`` constants 0 or 1 (EmitC declares
``Noc nocN(N)`` from them).
"""

from __future__ import annotations

from tteqsat.lowering.ttkernel_signatures import check_op
from tteqsat.mlir_text.argspec import ArgSpec, parse_arg_spec
from tteqsat.mlir_text.ir import EnumAttr, IntAttr, Op, OpaqueAttr, func_body, func_name, print_attr
from tteqsat.mlir_text.parser import parse_module

_FUNC_ATTRS = ("ttkernel.thread", "ttkernel.arg_spec")
_PROJECT_PREFIX = "tteqsat."
"""The project's discardable attributes on kernel functions (``tteqsat.fp32_dest_acc_en``, ...; docs/mlir-subset.md,
deliberate differences): tt-mlir ignores them; the host program carries the compute config to tt-metal."""


def _walk(ops: list[Op]):
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


def _int_constant(defs: dict[str, Op], value: str) -> int | None:
    op = defs.get(value)
    attr = op.attr("value") if op is not None and op.name == "arith.constant" else None
    return attr.value if isinstance(attr, IntAttr) else None


def _function(func: Op) -> list[str]:
    name = func_name(func)
    problems: list[str] = []
    thread = func.attributes.get("ttkernel.thread")
    if not (isinstance(thread, EnumAttr) and thread.kind == "ttkernel.thread" and thread.value in
            ("noc", "compute", "ethernet")):
        return [f"{name}: ttkernel.thread must be #ttkernel.thread<noc|compute|ethernet>"]
    for key in func.attributes:
        if key not in _FUNC_ATTRS and not key.startswith(_PROJECT_PREFIX):
            problems.append(f"{name}: unknown function attribute {key}")
    spec: ArgSpec | None = None
    raw = func.attributes.get("ttkernel.arg_spec")
    if raw is not None:
        try:
            spec = parse_arg_spec(raw.text if isinstance(raw, OpaqueAttr) else str(raw))
            problems += [f"{name}: ttkernel.arg_spec: {p}" for p in spec.problems()]
        except ValueError as e:
            problems.append(f"{name}: ttkernel.arg_spec: {e}")
    ops = list(_walk(func_body(func).ops))
    defs = {r: op for op in ops for r in op.results}
    ct = spec.ct_args if spec else ()
    first_accessor = next((k for k, e in enumerate(ct) if e.arg_type == "tensor_accessor_args"), len(ct))
    for op in ops:
        where = f"{name}: line {op.line}: {op.name}"
        props = {k: print_attr(v) for k, v in op.properties.items()}
        problems += [f"{name}: line {op.line}: {p}" for p in check_op(op.name, op.operand_types,
                                                                      op.result_types, props)]
        if op.name == "ttkernel.get_compile_time_arg_val" and spec is not None:
            index = op.attr("arg_index")
            k = index.value if isinstance(index, IntAttr) else -1
            if not 0 <= k < first_accessor:
                problems.append(f"{where}: arg_index {k} names no ct_args entry before the accessor blocks "
                                f"({first_accessor} entries)")
            elif op.result_types[0].startswith("!ttkernel.cb") and ct[k].arg_type != "cb_port":
                problems.append(f"{where}: a CB comes from a cb_port entry, ct_args[{k}] is {ct[k].arg_type}")
        if op.name in ("ttkernel.get_common_arg_val", "ttkernel.get_arg_val"):
            common = op.name == "ttkernel.get_common_arg_val"
            count = len(spec.common_args if common else spec.per_core_args) if spec else 0
            k = _int_constant(defs, op.operands[0]) if op.operands else None
            if k is not None and not 0 <= k < count:
                problems.append(f"{where}: runtime arg {k} is not among the {count} "
                                f"{'uniform' if common else 'per-core'} rt_args of the arg spec")
        if op.name == "ttkernel.TensorAccessorArgs" and len(op.operands) == 2 and "cta_expr" not in props:
            bases = [_int_constant(defs, v) for v in op.operands]
            if None in bases:
                problems.append(f"{where}: cta_base and crta_base must be arith.constant values (verifier)")
            elif spec is not None and bases[0] != first_accessor:
                problems.append(f"{where}: cta_base {bases[0]} is not the first tensor_accessor_args position "
                                f"{first_accessor} of the arg spec")
        for value, ty in zip(op.operands, op.operand_types, strict=True):
            if ty == "i8" and op.name.startswith("ttkernel.noc_") and _int_constant(defs, value) not in (0, 1):
                problems.append(f"{where}: the noc operand must be an i8 arith.constant 0 or 1")
    return problems


def check_module(text: str) -> list[str]:
    """Every problem of an emitted module against tt-mlir main ([] when it conforms)."""
    module = parse_module(text)
    problems: list[str] = []
    for func in module.funcs():
        if "ttkernel.thread" in func.attributes:
            problems += _function(func)
    return problems


EMITTED_OPS: tuple[str, ...] = tuple(sorted(
    f"ttkernel.{n}" for n in (
        # data movement (lowering/dataflow.py)
        "get_compile_time_arg_val get_common_arg_val get_arg_val get_tile_size get_write_ptr get_read_ptr "
        "TensorAccessorArgs TensorAccessor noc_async_read_tile noc_async_read_barrier noc_async_write_tile "
        "noc_async_write_barrier cb_reserve_back cb_push_back cb_wait_front cb_pop_front "
        # cores sharing reads (lowering/dataflow.py, settings.share_inputs): semaphores and NoC multicast
        "get_semaphore reinterpret_cast noc_semaphore_set experimental.semaphore_wait get_noc_addr "
        "get_noc_multicast_addr noc_semaphore_inc noc_semaphore_set_multicast noc_async_write_multicast "
        # compute (lowering/mlir.py)
        "compute_kernel_hw_startup mm_init mm_init_short mm_block_init mm_block_init_short matmul_tiles matmul_block "
        "tile_regs_acquire tile_regs_commit tile_regs_wait tile_regs_release pack_tile pack_reconfig_l1_acc "
        "copy_tile_init copy_tile add_tiles_init add_tiles sub_tiles_init sub_tiles mul_tiles_init mul_tiles "
        "binary_dest_reuse_tiles_init binary_dest_reuse_tiles unary_bcast_init unary_bcast reduce_init reduce_tile "
        "reduce_uninit transpose_wh_init transpose_wh_tile exp_tile_init exp_tile fill_tile_init fill_tile "
        "copy_dest_values_init copy_dest_values binop_with_scalar_tile_init add_unary_tile mul_unary_tile "
        "add_binary_tile_init add_binary_tile sub_binary_tile_init sub_binary_tile mul_binary_tile_init "
        "mul_binary_tile div_binary_tile_init div_binary_tile binary_max_tile_init binary_max_tile "
        "binary_min_tile_init binary_min_tile "
        # masks (lowering/mlir.py build_masks): the arange tile, the comparison with zero and the select
        "experimental.fill_arange_tile gez_tile_init gez_tile where_tile_init where_tile "
        + " ".join(f"{u}_tile_init {u}_tile" for u in ("recip", "sqrt", "rsqrt", "log", "abs", "negative", "relu",
                                                       "sigmoid", "tanh", "gelu", "silu"))
    ).split()
))
"""Every TTKernel op the lowering can emit (tests check the emitted modules stay inside this set)."""

_ENUMS_USED = ("#ttkernel.thread", "#ttkernel.reduce_type", "#ttkernel.reduce_dim", "#ttkernel.bcast_type",
               "#ttkernel.reuse_type", "#ttkernel.eltwise_binary_type", "#ttkernel.input_clamping",
               "#ttcore.supportedDataTypes", "ttkernel.arg_type")
_TYPES_USED = ("!ttkernel.cb", "!ttcore.tile", "!ttkernel.TensorAccessorArgs", "!ttkernel.TensorAccessor",
               "!ttkernel.local_semaphore", "!ttkernel.l1_addr_ptr", "!ttkernel.noc_addr")


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or "-"


def signature_table(names: tuple[str, ...] = EMITTED_OPS) -> str:
    """Markdown tables of the ops ``names`` as the pinned tt-mlir commit defines them, plus the enum spellings
    and type mnemonics they use (docs/mlir-subset.md embeds this text; a test keeps the two equal)."""
    from tteqsat.lowering.ttkernel_signatures import ENUMS, SIGNATURES, TTMLIR_COMMIT, TTMLIR_DATE, TYPES

    rows = [f"Ops as tt-mlir main `{TTMLIR_COMMIT[:12]}` ({TTMLIR_DATE}) defines them. Operands in order "
            "(`?` optional, `*` variadic; `index|i32` is tt-mlir's IndexLike); every attribute is a property "
            "(`<{...}>` in generic form).", "",
            "| op | operands | results | required properties | optional properties (default) |",
            "|---|---|---|---|---|"]
    for name in names:
        sig = SIGNATURES[name]
        operands = ", ".join(f"{o.name}{'?' if o.optional else '*' if o.variadic else ''}: {o.types}"
                             for o in sig.operands)
        required = ", ".join(f"{k}: {v}" for k, v in sig.required.items())
        optional = ", ".join(f"{k}: {kind}" + (f" = {default}" if default is not None else "")
                             for k, (kind, default) in sig.optional.items())
        rows.append(f"| `{name}` | {_cell(operands)} | {_cell(', '.join(sig.results))} | {_cell(required)} | "
                    f"{_cell(optional)} |")
    rows += ["", "| enum attribute | spellings |", "|---|---|"]
    rows += [f"| `{kind}` | {', '.join(ENUMS[kind])} |" for kind in _ENUMS_USED]
    rows += ["", "| type | parameters |", "|---|---|"]
    rows += [f"| `{ty}` | {_cell(TYPES[ty])} |" for ty in _TYPES_USED]
    return "\n".join(rows) + "\n"
