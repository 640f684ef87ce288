"""What `tteqsat optimize --report` costs: the optimization, then the derivation (`rule_stats.derivation_of`: each
rule that matched left out in turn, the kernel re-optimized without it).

    python benchmarks/report_derivation.py [--cases attention-wh,attention-bh-1x32x1024x128] [--json PATH]

Per case: the rules that matched (one re-optimization each), seconds of the optimization and of the derivation,
wall and CPU (this process's `time.process_time`, which a loaded machine inflates less than wall time), and the
derivation's steps (rule: what changes without it) so two versions' outputs can be compared. To compare with an
older checkout, run this file with that checkout first on PYTHONPATH (`PYTHONPATH=OLD python
benchmarks/report_derivation.py --json old.json`): it uses only `tq.optimize` and `derivation_of`.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from pathlib import Path

import tteqsat as tq
from tteqsat.tools.rule_stats import derivation_of

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "kernels"


def _example(name: str) -> tq.Kernel:
    namespace: dict = {}
    path = EXAMPLES / f"{name}.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return namespace["kernel"]


def _attention(b: int, h: int, s: int, d: int) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (b, h, s, d)) for n in "qkv")
    return tq.kernel("attention", tq.softmax(q @ k.mT * d ** -0.5) @ v)


CASES = {
    "ten_ops-wh": (lambda: _example("ten_ops"), "wormhole_b0"),
    "attention-wh": (lambda: _example("attention"), "wormhole_b0"),
    "attention-bh-1x32x1024x128": (lambda: _attention(1, 32, 1024, 128), "blackhole"),
}


def run(name: str) -> dict[str, object]:
    build, arch = CASES[name]
    kernel = build()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wall, cpu = time.perf_counter(), time.process_time()
        result = tq.optimize(kernel, arch)
        opt_wall, opt_cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall, cpu = time.perf_counter(), time.process_time()
        steps = derivation_of(result)
        der_wall, der_cpu = time.perf_counter() - wall, time.process_time() - cpu
    matched = sum(1 for s in result.saturation.rules.values() if s.matches)
    return {"case": name, "matched_rules": matched, "optimize_wall": round(opt_wall, 1),
            "optimize_cpu": round(opt_cpu, 1), "derivation_wall": round(der_wall, 1),
            "derivation_cpu": round(der_cpu, 1), "steps": [f"{s.rule}: {s.change}" for s in steps]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--json", help="write the rows (with each case's steps) to this file")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, tteqsat from {Path(tq.__file__).parent}")
    print(f"{'case':30} {'matched':>7} {'optimize s (cpu)':>17} {'derivation s (cpu)':>19} {'steps':>5}")
    rows = []
    for name in args.cases.split(","):
        row = run(name)
        rows.append(row)
        print(f"{name:30} {row['matched_rules']:>7} {row['optimize_wall']:>8} ({row['optimize_cpu']:>6}) "
              f"{row['derivation_wall']:>9} ({row['derivation_cpu']:>6}) {len(row['steps']):>5}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
