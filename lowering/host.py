"""The host-side program description that goes next to the three kernels (``--emit host``).

In the spirit of ttnn's ``ProgramDescriptor``: what a host runner needs to launch the kernels of one module on
tt-metal, and what tt-mlir keeps host side (``ttmetal.enqueue_program`` with ``#ttmetal.compute_config`` /
``#ttmetal.noc_config``) rather than in the kernels: the DRAM tensors, every CB's configuration, each kernel's
source file, compile-time arguments and common runtime arguments, the compute config (math fidelity, fp32 DST
accumulation, DST sync mode, approx mode) and the core grid with each core's own runtime arguments.

The description is read off the emitted module, so the two cannot disagree: each kernel's
``ttkernel.arg_spec`` gives its arguments (a ``cb_port`` entry is the CB id; a ``tensor_accessor_args`` entry is
the two words an interleaved DRAM tensor's ``TensorAccessorArgs`` reads, ``[IsDram = 2, page size]``; a uniform
``buffer_address`` entry is the tensor's DRAM base address, known only at launch and written here as
``{"buffer_address": name}``); the CB types give the CB configs; the compute function's ``tteqsat.*``
attributes give the compute config. The simulator runs a module with its description, taking every argument
from it (``tteqsat.sim.simulate(text, inputs, host=...)``).

A program of one work item runs on core (0, 0). A program over the grid (`grid_cores`) lists every core that
gets work with its own runtime args, its first work item and item count (read with ``get_arg_val``,
``is_uniform = false`` arg-spec entries). Cores that share reads over NoC multicast (`GridPlan.share`) also
need the program's semaphores (``semaphores``: created on every core, found with ``get_semaphore(id)``) and
run in groups (``share_groups``: the cores of each, its sender first), which the simulator runs together. The
per-core args that name a core (the sender, the multicast rectangle's corners) hold logical grid coordinates,
which the simulator uses as they are; ``noc_coordinate_args`` marks them (`NOC_COORDINATES`: a runner on hardware
passes the NoC coordinates of those logical cores, tt-metal's ``worker_core_from_logical_core``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from tteqsat.mlir_text.argspec import ArgSpec, parse_arg_spec
from tteqsat.mlir_text.ir import EnumAttr, IntAttr, Module, Op, OpaqueAttr, func_body, func_name
from tteqsat.mlir_text.parser import parse_module
from tteqsat.scheduling.model import GridPlan

FORMAT = "tteqsat-host-program/1"
TILE_BYTES = {"bf16": 2048, "f32": 4096}
DATA_FORMATS = {"bf16": "Float16_b", "f32": "Float32"}  # tt-metal's DataFormat enumerator names
MATH_FIDELITY = {"lofi": "LoFi", "hifi2": "HiFi2", "hifi3": "HiFi3", "hifi4": "HiFi4"}  # tt-metal's MathFidelity
INTERLEAVED_DRAM = 2
"""``TensorAccessorArgs`` config word of an interleaved DRAM tensor (tt-metal's ``ArgConfig::IsDram``)."""
PROCESSORS = {0: "riscv_1", 1: "riscv_0"}
"""Data-movement core per NoC: tt-mlir runs the reader on ``dm_core = 1`` with NoC 0 and the writer on
``dm_core = 0`` with NoC 1 (D2MToTTMetal); tt-metal's ``DataMovementProcessor::RISCV_1`` / ``RISCV_0``."""


class HostProgramError(ValueError):
    """A module or JSON file whose host description is incomplete or inconsistent; says what and where."""


@dataclass(frozen=True)
class BufferAddress:
    """A runtime argument the host fills in at launch: the DRAM base address of a tensor."""

    tensor: str


RuntimeArg = int | BufferAddress


@dataclass(frozen=True)
class Tensor:
    """A DRAM tensor the kernels read or write: tiled (32x32, row-major tile order), interleaved over banks."""

    name: str
    role: str  # in | out
    shape: tuple[int, ...]  # elements: batch axes (matrix after matrix in DRAM), then rows and columns
    dtype: str  # bf16 | f32

    @property
    def page_size(self) -> int:
        return TILE_BYTES[self.dtype]

    @property
    def pages(self) -> int:
        matrices = 1
        for d in self.shape[:-2]:
            matrices *= d
        return matrices * -(-self.shape[-2] // 32) * -(-self.shape[-1] // 32)


@dataclass(frozen=True)
class CbConfig:
    """One circular buffer: its id (the CB port), tile pages, page size and data format."""

    id: int
    pages: int
    page_size: int
    data_format: str  # Float16_b | Float32

    @property
    def total_size(self) -> int:
        return self.pages * self.page_size

    @property
    def dtype(self) -> str:
        return next(d for d, f in DATA_FORMATS.items() if f == self.data_format)


@dataclass(frozen=True)
class ComputeConfig:
    """tt-metal's ``ComputeConfig`` (tt-mlir: ``#ttmetal.compute_config``)."""

    math_fidelity: str = "HiFi4"  # LoFi | HiFi2 | HiFi3 | HiFi4
    fp32_dest_acc_en: bool = False
    dst_full_sync_en: bool = False
    math_approx_mode: bool = False


@dataclass(frozen=True)
class Kernel:
    """One kernel of the program: its source, where it runs, and the arguments every core shares."""

    name: str  # the func.func symbol
    source: str  # the C++ file --emit cpp writes
    thread: str  # noc | compute
    processor: str  # riscv_0 | riscv_1 (data movement) | compute (the three TRISCs)
    noc: int | None  # data movement: the NoC its reads and writes use
    compile_time_args: tuple[int, ...]
    compile_time_arg_names: tuple[str, ...]  # what each word is (same length)
    common_runtime_args: tuple[RuntimeArg, ...] = ()
    compute_config: ComputeConfig | None = None


@dataclass(frozen=True)
class Core:
    """One core of the grid and its per-core runtime args, by kernel name."""

    x: int
    y: int
    runtime_args: dict[str, tuple[RuntimeArg, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Semaphore:
    """A semaphore the host creates on every core of the program (tt-metal ``CreateSemaphore``): an L1 word
    kernels find with ``get_semaphore(id)``."""

    id: int
    initial_value: int = 0


@dataclass(frozen=True)
class CoreCoordArgs:
    """Two per-core runtime args of a kernel that name a core: in the description (and the simulator) its logical
    grid coordinates (x, y); on hardware the kernel needs that core's NoC coordinates (`NOC_COORDINATES`)."""

    kernel: str
    x: int  # index of the x arg among the kernel's per-core runtime args
    y: int
    name: str  # what the core is (sender, mcast_start, mcast_end)


NOC_COORDINATES = ("NoC coordinates of logical core (x, y): each core's runtime args at these indices hold a "
                   "logical core's x and y; a runner on hardware passes that core's NoC coordinates instead, "
                   "IDevice::worker_core_from_logical_core(CoreCoord(x, y)) (tt-metal tt_metal/api/tt-metalium/"
                   "device.hpp), and for a multicast rectangle the converted corners' componentwise min as "
                   "mcast_start and max as mcast_end (the reader multicasts on NoC 0)")
"""What ``noc_coordinate_args`` in the JSON means; the description gives no physical mapping (it depends on the
chip and its harvesting; tt-metal knows it at runtime)."""

COORDINATE_PAIRS = (("sender_x", "sender_y", "sender"), ("mcast_x_start", "mcast_y_start", "mcast_start"),
                    ("mcast_x_end", "mcast_y_end", "mcast_end"))
"""Named per-core args (`tteqsat.lowering.dataflow.SHARE_ARGS`) that hold a core's coordinates, by pair."""

SHARE_SEMAPHORES = (Semaphore(0), Semaphore(1))
"""The semaphores of a program whose cores share reads (`tteqsat.lowering.dataflow.SEM_READY`, ``SEM_VALID``)."""


@dataclass(frozen=True)
class HostProgram:
    """Everything a host needs to run one module's kernels."""

    kernel: str
    arch: str
    tensors: tuple[Tensor, ...]
    cbs: tuple[CbConfig, ...]
    kernels: tuple[Kernel, ...]
    grid: tuple[int, int] = (1, 1)
    cores: tuple[Core, ...] = (Core(0, 0),)
    semaphores: tuple[Semaphore, ...] = ()
    share_groups: tuple[tuple[tuple[int, int], ...], ...] = ()  # cores (x, y) that share reads; the first sends
    core_coordinates: tuple[CoreCoordArgs, ...] = ()  # per-core args that name a core (logical here, NoC on hardware)

    def tensor_index(self, name: str) -> int:
        for i, t in enumerate(self.tensors):
            if t.name == name:
                return i
        raise HostProgramError(f"no tensor named {name!r} (tensors: {', '.join(t.name for t in self.tensors)})")

    def kernel_named(self, name: str) -> Kernel:
        for k in self.kernels:
            if k.name == name:
                return k
        raise HostProgramError(f"no kernel named {name!r} (kernels: {', '.join(k.name for k in self.kernels)})")

    def cb(self, cb_id: int) -> CbConfig | None:
        return next((c for c in self.cbs if c.id == cb_id), None)

    # -- JSON ---------------------------------------------------------------------------------------
    def to_json(self) -> str:
        """Deterministic JSON (fixed key order, no sets), one artifact per module."""
        doc = {
            "format": FORMAT,
            "kernel": self.kernel,
            "arch": self.arch,
            "tensors": [
                {"name": t.name, "role": t.role, "shape": list(t.shape), "dtype": t.dtype, "layout": "tile",
                 "memory": "dram_interleaved", "page_size": t.page_size, "pages": t.pages}
                for t in self.tensors
            ],
            "cbs": [
                {"id": c.id, "pages": c.pages, "page_size": c.page_size, "data_format": c.data_format,
                 "total_size": c.total_size}
                for c in self.cbs
            ],
            "kernels": [_kernel_json(k) for k in self.kernels],
            "grid": {"x": self.grid[0], "y": self.grid[1]},
            "cores": [
                {"core": [c.x, c.y], "runtime_args": {k: [_arg_json(a) for a in args]
                                                      for k, args in c.runtime_args.items()}}
                for c in self.cores
            ],
        }
        if self.semaphores:
            doc["semaphores"] = [{"id": m.id, "initial_value": m.initial_value, "cores": "all"}
                                 for m in self.semaphores]
        if self.share_groups:
            doc["share_groups"] = [[list(xy) for xy in group] for group in self.share_groups]
        if self.core_coordinates:
            doc["noc_coordinate_args"] = {
                "meaning": NOC_COORDINATES,
                "args": [{"kernel": c.kernel, "args": [c.x, c.y], "core": c.name} for c in self.core_coordinates]}
        return _dump(doc, 0) + "\n"

    @staticmethod
    def from_json(text: str) -> HostProgram:
        """Read a description written by `to_json`; raises HostProgramError naming the bad field."""
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise HostProgramError(f"host program: not JSON: {e}") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise HostProgramError(f"host program: 'format' must be {FORMAT!r}")
        try:
            tensors = tuple(Tensor(t["name"], t["role"], tuple(int(d) for d in t["shape"]), t["dtype"])
                            for t in doc["tensors"])
            cbs = tuple(CbConfig(int(c["id"]), int(c["pages"]), int(c["page_size"]), c["data_format"])
                        for c in doc["cbs"])
            kernels = tuple(_kernel_from_json(k) for k in doc["kernels"])
            grid = (int(doc["grid"]["x"]), int(doc["grid"]["y"]))
            cores = tuple(Core(int(c["core"][0]), int(c["core"][1]),
                               {k: tuple(_arg_from_json(a) for a in args) for k, args in c["runtime_args"].items()})
                          for c in doc["cores"])
            semaphores = tuple(Semaphore(int(m["id"]), int(m["initial_value"])) for m in doc.get("semaphores", ()))
            groups = tuple(tuple((int(xy[0]), int(xy[1])) for xy in g) for g in doc.get("share_groups", ()))
            coords = tuple(CoreCoordArgs(str(c["kernel"]), int(c["args"][0]), int(c["args"][1]), str(c["core"]))
                           for c in doc.get("noc_coordinate_args", {}).get("args", ()))
            program = HostProgram(doc["kernel"], doc["arch"], tensors, cbs, kernels, grid, cores, semaphores, groups,
                                  coords)
        except (KeyError, TypeError, IndexError, ValueError) as e:
            raise HostProgramError(f"host program: missing or malformed field ({type(e).__name__}: {e})") from None
        problems = program.problems()
        if problems:
            raise HostProgramError("host program: " + "; ".join(problems))
        return program

    def problems(self) -> list[str]:
        """Inconsistencies inside the description (a runtime arg naming no tensor, a core off the grid, ...)."""
        out: list[str] = []
        names = {t.name for t in self.tensors}
        for t in self.tensors:
            if t.role not in ("in", "out") or t.dtype not in TILE_BYTES or len(t.shape) < 2 or min(t.shape) < 1:
                out.append(f"tensor {t.name!r}: role must be in|out, dtype bf16|f32, shape positive (2 or more axes)")
        for c in self.cbs:
            if c.data_format not in DATA_FORMATS.values() or c.pages < 1 or c.page_size != TILE_BYTES[c.dtype]:
                out.append(f"cb {c.id}: needs pages >= 1 and a {'|'.join(DATA_FORMATS.values())} tile page size")
        kernel_names = {k.name for k in self.kernels}
        for k in self.kernels:
            if len(k.compile_time_args) != len(k.compile_time_arg_names):
                out.append(f"kernel {k.name}: {len(k.compile_time_args)} compile-time args but "
                           f"{len(k.compile_time_arg_names)} names")
            if (k.thread == "compute") != (k.compute_config is not None):
                out.append(f"kernel {k.name}: a compute config belongs to exactly the compute kernel")
        for c in self.cores:
            if not (0 <= c.x < self.grid[0] and 0 <= c.y < self.grid[1]):
                out.append(f"core ({c.x}, {c.y}) is outside the {self.grid[0]}x{self.grid[1]} grid")
            unknown = sorted(set(c.runtime_args) - kernel_names)
            if unknown:
                out.append(f"core ({c.x}, {c.y}): runtime args for unknown kernel(s) {', '.join(unknown)}")
        placed = {(c.x, c.y) for c in self.cores}
        for group in self.share_groups:
            if len(group) < 2 or not self.semaphores:
                out.append(f"share group {list(group)}: needs two or more cores and the program's semaphores")
            missing = [xy for xy in group if xy not in placed]
            if missing and len(missing) < len(group):  # a run of some cores leaves other groups out, not parts
                out.append(f"share group {list(group)}: cores {', '.join(map(str, missing))} are not among the "
                           "program's cores (a group runs whole)")
        for cc in self.core_coordinates:
            for c in self.cores:
                args = c.runtime_args.get(cc.kernel, ())
                if not (0 <= cc.x < len(args) and 0 <= cc.y < len(args)):
                    out.append(f"core ({c.x}, {c.y}): kernel {cc.kernel} has no per-core args {cc.x}, {cc.y} "
                               f"({cc.name} coordinates)")
                elif not (0 <= args[cc.x] < self.grid[0] and 0 <= args[cc.y] < self.grid[1]):
                    out.append(f"core ({c.x}, {c.y}): {cc.name} ({args[cc.x]}, {args[cc.y]}) of kernel {cc.kernel} "
                               f"is not a logical core of the {self.grid[0]}x{self.grid[1]} grid")
        for k in self.kernels:
            args = [*k.common_runtime_args, *(a for c in self.cores for a in c.runtime_args.get(k.name, ()))]
            for a in args:
                if isinstance(a, BufferAddress) and a.tensor not in names:
                    out.append(f"kernel {k.name}: buffer_address of unknown tensor {a.tensor!r}")
        return out


def _dump(value: object, depth: int, key: str = "") -> str:
    """JSON with one line per small object or list (a CB, a tensor, an argument list), nested ones indented."""
    flat = json.dumps(value)
    if depth and len(key) + len(flat) + 2 * depth <= 118 or not isinstance(value, dict | list) or not value:
        return flat
    pad = "  " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k)}: {_dump(v, depth + 1, json.dumps(k) + ': ')}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + "  " * depth + "}"
    return "[\n" + ",\n".join(pad + _dump(v, depth + 1) for v in value) + "\n" + "  " * depth + "]"


def _arg_json(a: RuntimeArg) -> object:
    return {"buffer_address": a.tensor} if isinstance(a, BufferAddress) else a


def _arg_from_json(a: object) -> RuntimeArg:
    if isinstance(a, int) and not isinstance(a, bool):
        return a
    if isinstance(a, dict) and set(a) == {"buffer_address"} and isinstance(a["buffer_address"], str):
        return BufferAddress(a["buffer_address"])
    raise ValueError(f"runtime arg {a!r} is neither an integer nor {{\"buffer_address\": name}}")


def _kernel_json(k: Kernel) -> dict[str, object]:
    doc: dict[str, object] = {
        "name": k.name, "source": k.source, "thread": k.thread, "processor": k.processor, "noc": k.noc,
        "compile_time_args": list(k.compile_time_args),
        "compile_time_arg_names": list(k.compile_time_arg_names),
        "common_runtime_args": [_arg_json(a) for a in k.common_runtime_args],
    }
    if k.compute_config is not None:
        c = k.compute_config
        doc["compute_config"] = {"math_fidelity": c.math_fidelity, "fp32_dest_acc_en": c.fp32_dest_acc_en,
                                 "dst_full_sync_en": c.dst_full_sync_en, "math_approx_mode": c.math_approx_mode}
    return doc


def _kernel_from_json(k: Mapping) -> Kernel:
    cfg = k.get("compute_config")
    config = None if cfg is None else ComputeConfig(cfg["math_fidelity"], bool(cfg["fp32_dest_acc_en"]),
                                                    bool(cfg["dst_full_sync_en"]), bool(cfg["math_approx_mode"]))
    return Kernel(k["name"], k["source"], k["thread"], k["processor"], k["noc"],
                  tuple(int(v) for v in k["compile_time_args"]), tuple(k["compile_time_arg_names"]),
                  tuple(_arg_from_json(a) for a in k["common_runtime_args"]), config)


# -- reading the description off a module ---------------------------------------------------------------


def _walk(ops: list[Op]):
    for op in ops:
        yield op
        for block in op.regions:
            yield from _walk(block.ops)


def cb_type_of(ty: str) -> tuple[int, str] | None:
    """(pages, dtype) of ``!ttkernel.cb<N, !ttcore.tile<32x32, bf16|f32>>``."""
    head = "!ttkernel.cb<"
    if not ty.startswith(head):
        return None
    inner = ty[len(head):-1]
    count, _, elem = inner.partition(",")
    elem = elem.strip()
    for dtype in TILE_BYTES:
        if elem.replace(" ", "") == f"!ttcore.tile<32x32,{dtype}>" and count.strip().isdigit():
            return int(count), dtype
    return None


def thread_of(func: Op) -> str | None:
    attr = func.attributes.get("ttkernel.thread")
    return attr.value if isinstance(attr, EnumAttr) and attr.kind == "ttkernel.thread" else None


def arg_spec_of(func: Op) -> ArgSpec | None:
    """The func's ``ttkernel.arg_spec``, or None; raises HostProgramError when it is malformed."""
    attr = func.attributes.get("ttkernel.arg_spec")
    if attr is None:
        return None
    if not isinstance(attr, OpaqueAttr):
        raise HostProgramError(f"{func_name(func)}: ttkernel.arg_spec must be a #ttkernel.arg_spec<...> attribute")
    try:
        spec = parse_arg_spec(attr.text)
    except ValueError as e:
        raise HostProgramError(f"{func_name(func)}: {e}") from None
    problems = spec.problems()
    if problems:
        raise HostProgramError(f"{func_name(func)}: ttkernel.arg_spec: {'; '.join(problems)}")
    return spec


def _noc_of(func: Op) -> int | None:
    """The NoC index the func's NoC ops name (an i8 arith.constant operand), if any."""
    consts = {op.results[0]: op.attr("value") for op in _walk(func_body(func).ops)
              if op.name == "arith.constant" and op.result_types == ["i8"]}
    for op in _walk(func_body(func).ops):
        if op.name.startswith("ttkernel.noc_"):
            for v, ty in zip(op.operands, op.operand_types, strict=True):
                value = consts.get(v)
                if ty == "i8" and isinstance(value, IntAttr):
                    return value.value
    return None


def tensors_of(module: Module) -> tuple[Tensor, ...]:
    """The module's ``tteqsat.tensors`` (``name:in|out:[batch axes x]RxC:bf16|f32``)."""
    raw = module.attributes.get("tteqsat.tensors", [])
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise HostProgramError("tteqsat.tensors must be an array of strings")
    out: list[Tensor] = []
    for text in raw:
        parts = text.split(":")
        shape = parts[2].split("x") if len(parts) == 4 else []
        ok = (len(parts) == 4 and parts[0] != "" and parts[1] in ("in", "out") and len(shape) >= 2
              and all(s.isdigit() and int(s) > 0 for s in shape) and parts[3] in TILE_BYTES)
        if not ok:
            raise HostProgramError(f"malformed tensor spec {text!r} (expected name:in|out:[BxH...x]RxC:bf16|f32 "
                                   "with a positive shape)")
        out.append(Tensor(parts[0], parts[1], tuple(int(s) for s in shape), parts[3]))
    names = [t.name for t in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise HostProgramError(f"duplicate tensor name(s) {', '.join(dup)}")
    return tuple(out)


def _compile_time_args(func: Op, spec: ArgSpec | None, tensors: tuple[Tensor, ...]) -> tuple[list[int], list[str]]:
    name = func_name(func)
    values: list[int] = []
    names: list[str] = []
    if spec is None:  # no arg spec: compile-time arg k of CB type is CB k (hand-written compute-only modules)
        for op in _walk(func_body(func).ops):
            if op.name == "ttkernel.get_compile_time_arg_val":
                index = op.attr("arg_index")
                if not isinstance(index, IntAttr) or not op.result_types or cb_type_of(op.result_types[0]) is None:
                    raise HostProgramError(f"{name}: line {op.line}: a compile-time arg other than a CB port needs "
                                           "a ttkernel.arg_spec on the function")
                while len(values) <= index.value:
                    values.append(len(values))
                    names.append(f"cb_port {len(values) - 1}")
        return values, names
    for entry in spec.ct_args:
        if entry.arg_type == "cb_port":
            values.append(entry.operand_index)
            names.append(f"cb_port {entry.operand_index}")
        elif entry.arg_type == "tensor_accessor_args":
            if not 0 <= entry.operand_index < len(tensors):
                raise HostProgramError(f"{name}: tensor_accessor_args names tensor {entry.operand_index}, but the "
                                       f"module has {len(tensors)} tensors")
            t = tensors[entry.operand_index]
            values += [INTERLEAVED_DRAM, t.page_size]
            names += [f"{t.name}: accessor config (interleaved DRAM)", f"{t.name}: page size"]
        else:
            raise HostProgramError(f"{name}: compile-time arg type {entry.arg_type} is not supported")
    return values, names


def _common_args(func: Op, spec: ArgSpec | None, tensors: tuple[Tensor, ...]) -> tuple[RuntimeArg, ...]:
    """The uniform runtime args: the module says what they are (buffer addresses)."""
    if spec is None:
        return ()
    out: list[RuntimeArg] = []
    for entry in spec.common_args:
        if entry.arg_type != "buffer_address":
            raise HostProgramError(f"{func_name(func)}: common runtime arg of type {entry.arg_type} has no value "
                                   "in the module; only buffer addresses are supported")
        if not 0 <= entry.operand_index < len(tensors):
            raise HostProgramError(f"{func_name(func)}: buffer_address names tensor {entry.operand_index}, but the "
                                   f"module has {len(tensors)} tensors")
        out.append(BufferAddress(tensors[entry.operand_index].name))
    return tuple(out)


def _compute_config(func: Op) -> ComputeConfig:
    attrs = func.attributes
    fidelity = attrs.get("tteqsat.math_fidelity", "hifi4")
    if fidelity not in MATH_FIDELITY:
        raise HostProgramError(f"{func_name(func)}: tteqsat.math_fidelity must be one of "
                               f"{', '.join(MATH_FIDELITY)}, got {fidelity!r}")
    return ComputeConfig(MATH_FIDELITY[fidelity], attrs.get("tteqsat.fp32_dest_acc_en") is True,
                         attrs.get("tteqsat.dst_full_sync") is True, attrs.get("tteqsat.math_approx_mode") is True)


def grid_cores(plan: GridPlan, kernel: str) -> tuple[tuple[int, int], tuple[Core, ...]]:
    """The grid and each working core of a program over the grid: core n sits at `GridPlan.core_xy` (n % x,
    n // x unless its sharing group placed it) and every kernel reads the core's first work item and item count
    (`lowering.dataflow.ITEM_ARGS`); when cores share reads, the reader also reads its role, its sender and its
    group's rectangle (`lowering.dataflow.SHARE_ARGS`, as logical core coordinates: the host program marks them,
    `HostProgram.core_coordinates`, and a runner on hardware passes the NoC coordinates of these cores)."""
    names = (f"{kernel}_reader", f"{kernel}_compute", f"{kernel}_writer")
    cores = []
    for n, (first, count) in enumerate(plan.cores):
        args: dict[str, tuple[RuntimeArg, ...]] = {name: (first, count) for name in names}
        if plan.share is not None:
            group = plan.share.groups[plan.share.group_of(n)]
            sender = plan.share.coords[group[0]]
            rect = plan.share.rects[plan.share.group_of(n)]
            args[names[0]] = (first, count, int(n == group[0]), *sender, *rect, len(group) - 1)
        cores.append(Core(*plan.core_xy(n), args))
    return plan.grid, tuple(cores)


def share_layout(plan: GridPlan) -> tuple[tuple[Semaphore, ...], tuple[tuple[tuple[int, int], ...], ...]]:
    """The semaphores and sharing groups (by core coordinates) of a program over `plan`."""
    if plan.share is None:
        return (), ()
    return SHARE_SEMAPHORES, tuple(tuple(plan.share.coords[n] for n in g) for g in plan.share.groups)


def host_program(module: Module | str, *, grid: tuple[int, int] = (1, 1),
                 cores: tuple[Core, ...] | None = None, semaphores: tuple[Semaphore, ...] = (),
                 share_groups: tuple[tuple[tuple[int, int], ...], ...] = ()) -> HostProgram:
    """The host description of a module; raises HostProgramError naming what is missing or inconsistent.

    Without ``cores`` the program runs on core (0, 0) of a 1x1 grid. Kernels that read per-core runtime args
    (``is_uniform = false`` arg-spec entries, ``get_arg_val``) need ``cores``, each giving every such kernel
    exactly that many values.
    """
    if isinstance(module, str):
        module = parse_module(module)
    tensors = tensors_of(module)
    kernels: list[Kernel] = []
    per_core: dict[str, int] = {}
    coordinates: list[CoreCoordArgs] = []
    cb_types: dict[int, tuple[int, str, str]] = {}  # id -> (pages, dtype, where)
    noc_funcs = 0
    for func in module.funcs():
        thread = thread_of(func)
        if thread is None:
            continue
        name = func_name(func)
        spec = arg_spec_of(func)
        per_core[name] = len(spec.per_core_args) if spec else 0
        named = {e.argument_name: n for n, e in enumerate(spec.per_core_args)} if spec else {}
        coordinates += [CoreCoordArgs(name, named[x], named[y], what) for x, y, what in COORDINATE_PAIRS
                        if x in named and y in named]
        ct_values, ct_names = _compile_time_args(func, spec, tensors)
        for op in _walk(func_body(func).ops):
            if op.name != "ttkernel.get_compile_time_arg_val" or not op.result_types:
                continue
            parsed = cb_type_of(op.result_types[0])
            index = op.attr("arg_index")
            if parsed is None or not isinstance(index, IntAttr):
                continue
            if not 0 <= index.value < len(ct_values) or not ct_names[index.value].startswith("cb_port"):
                raise HostProgramError(f"{name}: line {op.line}: compile-time arg {index.value} is not a CB port "
                                       f"of the function's ttkernel.arg_spec")
            cb_id = ct_values[index.value]
            seen = cb_types.setdefault(cb_id, (*parsed, f"{name} line {op.line}"))
            if seen[:2] != parsed:
                raise HostProgramError(f"{name}: line {op.line}: cb {cb_id} declared as {parsed[0]} x {parsed[1]} "
                                       f"here but {seen[0]} x {seen[1]} at {seen[2]}")
        if thread == "compute":
            kernels.append(Kernel(name, f"{name}.cpp", thread, "compute", None, tuple(ct_values), tuple(ct_names),
                                  _common_args(func, spec, tensors), _compute_config(func)))
        else:
            noc = _noc_of(func)
            noc = noc if noc is not None else min(noc_funcs, 1)
            noc_funcs += 1
            kernels.append(Kernel(name, f"{name}.cpp", thread, PROCESSORS.get(noc, "riscv_0"), noc,
                                  tuple(ct_values), tuple(ct_names), _common_args(func, spec, tensors)))
    cbs = tuple(CbConfig(i, pages, TILE_BYTES[dtype], DATA_FORMATS[dtype])
                for i, (pages, dtype, _) in sorted(cb_types.items()))
    if cores is None:
        needy = [f"{k} ({n})" for k, n in per_core.items() if n]
        if needy:
            raise HostProgramError(f"kernel(s) {', '.join(needy)} read per-core runtime args (get_arg_val); give "
                                   "each core's values")
        cores = (Core(0, 0, {k.name: () for k in kernels}),)
    for core in cores:
        for k, n in per_core.items():
            if len(core.runtime_args.get(k, ())) != n:
                raise HostProgramError(f"core ({core.x}, {core.y}): kernel {k} reads {n} per-core runtime args, "
                                       f"{len(core.runtime_args.get(k, ()))} given")
    kernel_attr = module.attributes.get("tteqsat.kernel", "")
    arch_attr = module.attributes.get("tteqsat.arch", "")
    program = HostProgram(kernel_attr if isinstance(kernel_attr, str) else "",
                          arch_attr if isinstance(arch_attr, str) else "", tensors, cbs, tuple(kernels), grid,
                          tuple(cores), semaphores, share_groups, tuple(coordinates))
    problems = program.problems()
    if problems:
        raise HostProgramError("; ".join(problems))
    return program
