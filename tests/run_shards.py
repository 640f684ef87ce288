"""Run the test suite as one pytest process per CPU (at most `MOST`), each over its own test files: `make test`.

The suite is CPU-bound Python (optimizing, simulating), so on a machine with two cores two processes take about
half the wall time of one. pytest-xdist is not among the project's dependencies; files are dealt to the shards
longest first (`SECONDS`, measured with `pytest --durations=0` on 2026-11-30 with two shards side by side; a file
not listed counts as `UNLISTED` seconds), each to the shard with the least so far. Every test writes only below its
own `tmp_path`, so the shards share nothing but the source tree. Each shard's output is printed when all have
ended, and the exit status is the first failing shard's. Arguments go to every pytest; `TTEQSAT_TEST_SHARDS=1` runs
one process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

MOST = 2
UNLISTED = 5
SECONDS = {
    "test_ragged": 103, "test_consistency": 93, "test_fuzz": 87, "test_grid": 72, "test_masks": 48,
    "test_conformance": 43, "test_interleave": 42, "test_acceptance": 41, "test_cli": 39, "test_decode_stack": 36,
    "test_calibration_rows": 36, "test_cpp_masks": 33, "test_split_tree": 32, "test_row_waits": 32,
    "test_fuzz_findings": 31, "test_sim_batching": 29, "test_kv_share": 27, "test_timing_sim": 25,
    "test_calibration_ablation": 25, "test_ranked_share": 24, "test_lookahead": 24, "test_extract_ilp": 24,
    "test_fuzz_share": 23, "test_split_width_retry": 22, "test_streaming": 21, "test_rule_stats": 21, "test_gqa": 21,
    "test_cost_calibration": 21, "test_cpp": 16, "test_stream_depth": 15, "test_oracle": 15, "test_splitkv": 13,
    "test_cli_rules": 13, "test_sweep": 12, "test_fuzz_conditioning": 11, "test_chunk_width_search": 11,
    "test_tile_major": 10, "test_dram_share": 10, "test_chip_pipeline": 10, "test_split_rule": 8,
    "test_exp_range": 8, "test_report_browser": 7, "test_host": 7, "test_pricing_memo": 6, "test_html_report": 6,
}


def shards(files: list[Path], count: int) -> list[list[Path]]:
    """`files` dealt to `count` shards, longest first, each to the shard with the fewest seconds so far."""
    load = [0.0] * count
    out: list[list[Path]] = [[] for _ in range(count)]
    for f in sorted(files, key=lambda f: (-SECONDS.get(f.stem, UNLISTED), f.name)):
        i = min(range(count), key=lambda i: (load[i], i))
        out[i].append(f)
        load[i] += SECONDS.get(f.stem, UNLISTED)
    return [sorted(s) for s in out if s]


def main(args: list[str]) -> int:
    tests = Path(__file__).resolve().parent
    count = int(os.environ.get("TTEQSAT_TEST_SHARDS", min(MOST, os.cpu_count() or 1)))
    parts = shards(sorted(tests.glob("test_*.py")), max(count, 1))
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"shard{n}.log" for n in range(len(parts))]
        procs = []
        for files, log in zip(parts, logs, strict=True):
            with log.open("w") as out:
                procs.append(subprocess.Popen([sys.executable, "-m", "pytest", *args, *map(str, files)],
                                              stdout=out, stderr=subprocess.STDOUT, cwd=tests.parent))
        codes = [p.wait() for p in procs]
        for n, (files, log, code) in enumerate(zip(parts, logs, codes, strict=True)):
            print(f"== shard {n + 1} of {len(parts)}: {len(files)} test files, exit {code}", flush=True)
            print(log.read_text(), flush=True)
    return next((c for c in codes if c != 0), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
