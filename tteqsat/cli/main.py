"""`tteqsat` command line: optimize a kernel file, emit MLIR/C++/JSON, verify on the simulator."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from rich.markup import escape

from tteqsat.cli.options import add_rule_options, add_set_option, parse_set
from tteqsat.cli.rules import add_rules_commands
from tteqsat.cli.sim import add_sim_command
from tteqsat.cli.sweep import add_sweep_command
from tteqsat.egraph.saturate import Limits
from tteqsat.errors import KernelError
from tteqsat.frontend.loader import load_kernel
from tteqsat.tools.console import console_for


def cmd_optimize(args: argparse.Namespace) -> int:
    from tteqsat.pipeline import VerificationError, optimize
    from tteqsat.tools.progress import SaturationProgress
    from tteqsat.tools.report import render

    kernel = load_kernel(args.file)
    overrides = dict(parse_set(s) for s in args.set or [])
    with warnings.catch_warnings(), SaturationProgress(Limits.from_arguments(args)) as progress:
        warnings.simplefilter("ignore")
        result = optimize(kernel, args.arch, limits=Limits.from_arguments(args), rules=args.rules, overrides=overrides,
                          check_rules=not args.no_check_rules, form=args.form, extractor=_extractor(args.extractor),
                          split=_split(args.split), progress=progress)
    emit = [e for e in (args.emit or "").split(",") if e]
    unknown = set(emit) - {"mlir", "cpp", "json", "host"}
    if unknown:
        raise KernelError(f"--emit: unknown format(s) {', '.join(sorted(unknown))} (mlir, cpp, json, host)")
    to_stdout = args.out == "-"  # like MLIR tools: the artifact on stdout, everything else on stderr
    if to_stdout and len(emit) != 1:
        raise KernelError("--out - prints exactly one --emit format to stdout")
    stream = sys.stderr if to_stdout else sys.stdout
    console = console_for(stream)
    render(result, console)
    artifacts: list[tuple[str, str]] = []
    for part in [result] + (list(result.split.after) if result.split else []):  # split over keys: every kernel
        name = part.kernel.name
        if "mlir" in emit:
            artifacts.append((f"{name}.mlir", part.to_mlir()))
        if "cpp" in emit:
            artifacts += [(f"{func}.cpp", text) for func, text in part.to_cpp().items()]
        if "json" in emit:
            artifacts.append((f"{name}.schedule.json", part.schedule.to_json() + "\n"))
        if "host" in emit:
            artifacts.append((f"{name}.host.json", part.to_host().to_json()))
    if to_stdout:
        sys.stdout.write("".join(text for _, text in artifacts))
    elif artifacts:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for name, text in artifacts:
            (out / name).write_text(text)
            console.print(f"wrote {escape(str(out / name))}")
    summary = result.summary()
    summary.update(verified=False, max_abs_err=None)
    status = 0
    if args.verify or args.timing:
        from tteqsat.frontend.reference import load_inputs

        inputs = load_inputs(kernel, args.inputs) if args.inputs else None
        try:
            v = result.verify(seed=args.seed, inputs=inputs, precision=args.precision, tolerance=args.tolerance,
                              dist=args.input_dist, timing=args.timing)
            summary.update(verified=True, max_abs_err=v.max_abs_err, max_rel_err=v.max_rel_err)
            console.print(f"verified on the Tensix model: max abs error {v.max_abs_err:.3g} "
                          f"(relative {v.max_rel_err:.3g}, tolerance {v.tolerance})")
            if v.timing is not None:
                _print_timing(console, result, v.timing)
                summary["timing"] = v.timing.to_json()
        except VerificationError as e:
            console.print(f"verification FAILED: {escape(str(e))}")
            status = 1
    if args.report:
        from tteqsat.tools.html_report import write_html_report
        from tteqsat.tools.rule_stats import derivation_of

        steps = _with_status(console, "finding the rules the result depends on", lambda: derivation_of(result))
        console.print(f"wrote {escape(str(write_html_report(result, args.report, derivation=steps)))}")
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return status


def _print_timing(console, result, report) -> None:
    """The timing simulator's table, and the analytic model's cycles for the same core's work beside it."""
    from tteqsat.tools.timing_check import analytic_cycles

    grid = result.schedule.grid
    items = max((count for _, count in grid.cores), default=1) if grid is not None else 1
    analytic = analytic_cycles(result)  # the same cores verify timed, each with its own items
    console.print(f"timing simulator: wall {report.wall:,.0f} cycles; the analytic model prices the same core's "
                  f"{items} work item{'s' if items > 1 else ''} with its reads and writes at {analytic:,.0f} "
                  f"({analytic / report.wall:.2f}x)")
    console.print(escape(report.table()))


def _with_status(console, what: str, work):
    """Run `work()` under a spinner on a terminal (it can take seconds), plainly otherwise."""
    if console.is_terminal:
        with console.status(what):
            return work()
    return work()


def _split(text: str) -> bool | int | None:
    """--split: auto (by cost), off, or a number of key parts."""
    if text == "auto":
        return None
    if text == "off":
        return False
    if text.isdigit() and int(text) >= 2:
        return int(text)
    raise KernelError(f"--split {text!r}: use auto (split over keys when it models cheaper), off, or a number "
                      "of key parts of 2 or more")


def _extractor(name: str):
    if name == "ilp":
        from tteqsat.extraction.ilp import extract_ilp

        return extract_ilp
    from tteqsat.extraction.greedy import extract

    return extract


def cmd_explain(args: argparse.Namespace) -> int:
    from tteqsat.tools.explain import explain, render

    kernel = load_kernel(args.file)
    overrides = dict(parse_set(s) for s in args.set or [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ex = explain(kernel, args.arch, limits=Limits.from_arguments(args), form=args.form, overrides=overrides,
                     rules=args.rules, check_rules=not args.no_check_rules)
    render(ex, console_for())
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tteqsat", description="Equality-saturation optimizer for Tensix kernels.")
    sub = p.add_subparsers(dest="command", required=True)
    o = sub.add_parser("optimize", help="optimize a kernel file and show the chosen schedule")
    o.add_argument("file", help="a Python file defining `kernel = tq.kernel(...)`")
    o.add_argument("--arch", default="wormhole_b0", help="wormhole_b0, blackhole, or an arch .toml file")
    add_set_option(o)
    o.add_argument("--emit", default="", help="comma-separated: mlir,cpp,json,host")
    o.add_argument("--out", default="out", help="directory for --emit (default: out); - prints to stdout")
    o.add_argument("--verify", action="store_true", help="run the emitted MLIR on the simulator against numpy")
    o.add_argument("--seed", type=int, default=0, help="seed of the verification inputs")
    o.add_argument("--precision", default="hardware", choices=["hardware", "exact"],
                   help="simulator arithmetic for --verify: the Tensix's (default) or exact float32")
    o.add_argument("--tolerance", type=float, metavar="REL",
                   help="largest max|sim - ref| / max|ref| per output (default: the documented one)")
    o.add_argument("--inputs", metavar="FILE.npz", help="verify on these inputs (one array per kernel input)")
    o.add_argument("--input-dist", default="normal", choices=["normal", "uniform", "wide"],
                   help="distribution of the random verification inputs (default: normal)")
    o.add_argument("--timing", action="store_true",
                   help="verify, and time the run on the timing simulator (cycles per thread, the wall, top stalls)")
    o.add_argument("--summary-json", metavar="PATH", help="write a JSON summary")
    add_rule_options(o)
    o.add_argument("--form", default="auto", help="auto (by cost), fused, streaming or baseline")
    o.add_argument("--split", default="auto", metavar="auto|off|N",
                   help="split attention's keys over N parts on more cores, then combine (default: by cost)")
    o.add_argument("--extractor", default="greedy", choices=["greedy", "ilp"],
                   help="greedy DAG extraction (default) or the exact ILP on HiGHS")
    o.add_argument("--report", metavar="PATH.html", help="write a self-contained HTML report")
    Limits.add_arguments(o)
    o.set_defaults(run=cmd_optimize)
    e = sub.add_parser("explain", help="the rules behind the chosen form and the alternatives weighed")
    e.add_argument("file", help="a Python file defining `kernel = tq.kernel(...)`")
    e.add_argument("--arch", default="wormhole_b0", help="wormhole_b0, blackhole, or an arch .toml file")
    add_set_option(e)
    e.add_argument("--form", default="auto", help="auto (by cost), fused, streaming or baseline")
    add_rule_options(e)
    Limits.add_arguments(e)
    e.set_defaults(run=cmd_explain)
    add_rules_commands(sub)
    add_sweep_command(sub)
    add_sim_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KernelError as e:
        print(f"tteqsat: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tteqsat: interrupted", file=sys.stderr)
        return 130

