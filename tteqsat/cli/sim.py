"""`tteqsat sim KERNEL.mlir`: run an emitted module on the Tensix model; `--timing` adds the timing simulator.

The module's host program is read off it (one core), or given with `--host` (what `optimize --emit host` writes,
with every core of a grid). Inputs are random (normal, `--seed`) unless `--inputs FILE.npz` gives them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tteqsat.cli.options import add_set_option, parse_set
from tteqsat.errors import KernelError


def cmd_sim(args: argparse.Namespace) -> int:
    from tteqsat.arch import load_arch
    from tteqsat.lowering.host import HostProgram, HostProgramError, host_program
    from tteqsat.mlir_text.parser import MlirSyntaxError
    from tteqsat.sim import SimulationError, simulate

    text = _read(args.file, "the MLIR module")
    try:
        host = HostProgram.from_json(_read(args.host, "the host program")) if args.host else host_program(text)
    except MlirSyntaxError as e:
        print(f"tteqsat: error: {args.file}: {e}", file=sys.stderr)
        return 2
    except HostProgramError as e:
        hint = "" if args.host else "; pass its host program with --host FILE.json (`optimize --emit host` writes it)"
        print(f"tteqsat: error: {args.host or args.file}: {e}{hint}", file=sys.stderr)
        return 2
    inputs = _inputs(host, args)
    arch = None
    if args.timing and (args.arch or args.set):
        arch = load_arch(args.arch or host.arch or "wormhole_b0", dict(parse_set(s) for s in args.set or []))
    try:
        result = simulate(text, inputs, host=host, precision=args.precision, timing=args.timing, arch=arch,
                          sharing_cores=args.sharing_cores, dram_sharing=args.dram_sharing)
    except SimulationError as e:
        print(f"tteqsat: error: {args.file}: the module fails on the Tensix model: {e}", file=sys.stderr)
        return 1
    cores = result.stats.get("cores", 1)
    out = sys.stderr if args.json == "-" else sys.stdout
    print(f"simulated {args.file}: {cores} core{'s' if cores != 1 else ''}, {result.stats['ops.total']:,} ops "
          f"({args.precision} precision)", file=out)
    for name, value in result.outputs.items():
        shape = "x".join(str(d) for d in value.shape)
        print(f"  output {name}: {shape}, max |x| {float(np.max(np.abs(value))) if value.size else 0.0:.4g}", file=out)
    if result.timing is not None:
        report = result.timing
        how = "static" if report.dram_sharing == "static" else \
            f"then work-conserving, {report.runs} run{'s' if report.runs != 1 else ''}"
        print(f"timing ({report.arch}; DRAM {report.dram_bytes_per_cycle:.3g} bytes/cycle per core, "
              f"{report.sharing_cores} core{'s' if report.sharing_cores != 1 else ''} sharing it; {how}):",
              file=out)
        print(report.table(args.stalls), file=out)
    if args.json:
        doc = {"file": str(args.file), "cores": cores, "ops": result.stats["ops.total"], "precision": args.precision,
               "outputs": {n: list(v.shape) for n, v in result.outputs.items()},
               "timing": result.timing.to_json() if result.timing is not None else None}
        text_out = json.dumps(doc, indent=1, sort_keys=True) + "\n"
        if args.json == "-":
            sys.stdout.write(text_out)
        else:
            Path(args.json).write_text(text_out)
    return 0


def _read(path: str, what: str) -> str:
    try:
        return Path(path).read_text()
    except OSError as e:
        raise KernelError(f"cannot read {what} {path}: {e.strerror}") from None


def _inputs(host, args: argparse.Namespace) -> dict[str, np.ndarray]:  # noqa: ANN001 - a HostProgram
    """The input tensors: from --inputs, else normal random values (seeded) of each input tensor's shape."""
    wanted = [t for t in host.tensors if t.role == "in"]
    if args.inputs:
        try:
            with np.load(args.inputs) as data:
                given = {k: np.asarray(data[k], dtype=np.float32) for k in data.files}
        except (OSError, ValueError) as e:
            raise KernelError(f"--inputs {args.inputs}: not a readable .npz file ({e})") from None
        missing = [t.name for t in wanted if t.name not in given]
        if missing:
            raise KernelError(f"--inputs {args.inputs}: no array for input tensor(s) {', '.join(missing)} "
                              f"(it has {', '.join(sorted(given)) or 'none'})")
        return given
    rng = np.random.default_rng(args.seed)
    return {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in wanted}


def add_sim_command(subparsers) -> None:  # noqa: ANN001 - argparse's private subparsers type
    p = subparsers.add_parser("sim", help="run an emitted MLIR module on the Tensix model (--timing: cycles per "
                                          "thread and stalls)")
    p.add_argument("file", help="a TTKernel MLIR module, e.g. written by `optimize --emit mlir`")
    p.add_argument("--host", metavar="FILE.json", help="its host program (`optimize --emit host`): cores, args, "
                                                       "CBs; default: read off the module, one core")
    p.add_argument("--inputs", metavar="FILE.npz", help="input tensors (one array per input); default: random")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--precision", default="hardware", choices=["hardware", "exact"],
                   help="the simulator's arithmetic: the Tensix's (default) or exact float32")
    p.add_argument("--timing", action="store_true",
                   help="also run the timing simulator: cycles per thread (reader, unpack, math, pack, writer), "
                        "the wall and the top stall reasons")
    p.add_argument("--arch", help="price --timing with this arch (name or .toml; default: the module's)")
    add_set_option(p)
    p.add_argument("--sharing-cores", type=int, metavar="N",
                   help="cores sharing the chip's DRAM bandwidth (default: the host program's cores; with a static "
                        "share where groups share reads, its DRAM bytes over the busiest core's, as the cost model "
                        "shares it); the host's cores stand for N between them")
    p.add_argument("--dram-sharing", default="work-conserving", choices=["work-conserving", "static"],
                   help="how the cores share it: the cores still reading split it, a core that made its last "
                        "transfer taking none (default; the program runs again until the times settle), or each "
                        "core its share for the whole run")
    p.add_argument("--stalls", type=int, default=5, metavar="N", help="how many top stalls to list (default 5)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON (- for stdout; the table goes to stderr)")
    p.set_defaults(run=cmd_sim)
