"""Run the test suite as one pytest process per CPU (at most `MOST`), each over its own test files: `make test`.

The suite is CPU-bound Python (optimizing, simulating), so on a machine with two cores two processes take about
half the wall time of one. pytest-xdist is not among the project's dependencies; files are dealt to the shards
longest first (`SECONDS`, measured with `pytest --durations=0` on 2026-12-01 with two shards side by side; a file
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
    "test_ragged": 138, "test_fuzz": 120, "test_consistency": 90, "test_interleave": 86, "test_grid": 80,
    "test_masks": 57, "test_cpp_masks": 53, "test_acceptance": 48, "test_row_waits": 44, "test_conformance": 44,
    "test_cli": 42, "test_kv_share": 40, "test_calibration_rows": 39, "test_decode_stack": 39,
    "test_split_width_retry": 32, "test_fuzz_findings": 31, "test_lookahead": 31, "test_sim_batching": 29,
    "test_extract_ilp": 27, "test_calibration_ablation": 27, "test_ranked_share": 26, "test_streaming": 25,
    "test_rule_stats": 25, "test_split_tree": 25, "test_cost_calibration": 24, "test_fuzz_share": 23, "test_gqa": 22,
    "test_timing_sim": 21, "test_splitkv": 17, "test_cpp": 16, "test_tile_major": 15, "test_oracle": 15,
    "test_stream_depth": 15, "test_dram_share": 15, "test_sweep": 15, "test_chip_pipeline": 12,
    "test_split_rule": 12, "test_chunk_width_search": 10, "test_cli_rules": 9, "test_exp_range": 9,
    "test_pricing_memo": 9, "test_wide_chunks": 9, "test_fuzz_conditioning": 9, "test_host": 9,
    "test_lean_extraction": 7, "test_report_browser": 7, "test_errors": 7, "test_levers": 7, "test_soundness": 6,
    "test_long_accumulation": 6, "test_readme": 6, "test_attention_bounds": 6,
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
