"""K/V shared between the cores of a head over NoC multicast (settings.share_inputs) against per-core reads.

For B = 1, H = 32 q heads (MHA, causal MHA, and GQA over 8 K/V heads), Sq = Sk = S and head dim d,
`tq.optimize` with and without settings.share_inputs on each arch (causal items visit different chunks: they
share in ranked groups, the sender running the block that visits the most chunks); both emitted (the shared readers
multicast: tests/test_kv_share.py and tests/test_ranked_share.py simulate them). Prints the modeled chip
time, the DRAM bytes, the cores and what bounds the slowest core; `group` is the cores that share one DRAM
read (the first reads, the rest receive the multicast).

    python benchmarks/kv_share.py [--sizes 1024,4096] [--dims 128] [--archs wormhole_b0,blackhole] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

import tteqsat as tq
from tteqsat.arch import load_arch

HEADS = 32


def attention(s: int, d: int, kv_heads: int, causal: bool = False) -> tq.Kernel:
    q = tq.tensor("q", (1, HEADS, s, d))
    k, v = (tq.tensor(n, (1, kv_heads, s, d)) for n in "kv")
    if kv_heads != HEADS:
        k, v = (tq.repeat(x, HEADS // kv_heads, axis=1) for x in (k, v))
    scores = q @ k.mT * d ** -0.5
    if causal:
        scores = tq.where(tq.tri(s, s), scores, -np.inf)
    return tq.kernel("attention", tq.softmax(scores) @ v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1024,4096")
    ap.add_argument("--dims", default="128")
    ap.add_argument("--archs", default="wormhole_b0,blackhole")
    ap.add_argument("--json", type=Path, metavar="PATH", help="write the rows as a JSON list")
    args = ap.parse_args()
    table = Table(title="K/V reads per core vs shared over NoC multicast (modeled chip)")
    for col in ("arch", "kernel", "S", "d", "per-core cycles", "per-core MB", "cores", "bound",
                "shared cycles", "shared MB", "cores/group", "bound ", "cycles ratio", "DRAM ratio", "opt s"):
        table.add_column(col, justify="right")
    rows = []
    for arch_name in args.archs.split(","):
        for d in (int(x) for x in args.dims.split(",")):
            for s in (int(x) for x in args.sizes.split(",")):
                for kv, causal in ((HEADS, False), (HEADS, True), (8, False)):
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        alone = tq.optimize(attention(s, d, kv, causal),
                                            load_arch(arch_name, {"settings.share_inputs": False}))
                        shared = tq.optimize(attention(s, d, kv, causal),
                                             load_arch(arch_name, {"settings.share_inputs": True}))
                    seconds = time.perf_counter() - start
                    a, sh = alone.chip, shared.chip
                    assert a is not None and sh is not None
                    name = ("causal MHA" if causal else "MHA") if kv == HEADS else f"GQA {HEADS}/{kv}"
                    table.add_row(arch_name, name, str(s), str(d), f"{a.cycles:,.0f}", f"{a.dram_bytes / 1e6:.1f}",
                                  str(a.cores), a.bound_by, f"{sh.cycles:,.0f}", f"{sh.dram_bytes / 1e6:.1f}",
                                  f"{sh.cores}/{sh.shared}", sh.bound_by, f"{sh.cycles / a.cycles:.3f}",
                                  f"{sh.dram_bytes / a.dram_bytes:.3f}", f"{seconds:.1f}")
                    rows.append({"arch": arch_name, "kernel": name, "S": s, "d": d,
                                 "alone_cycles": round(a.cycles, 1), "alone_dram_bytes": a.dram_bytes,
                                 "alone_cores": a.cores, "alone_bound_by": a.bound_by,
                                 "shared_cycles": round(sh.cycles, 1), "shared_dram_bytes": sh.dram_bytes,
                                 "shared_cores": sh.cores, "cores_per_group": sh.shared,
                                 "shared_bound_by": sh.bound_by, "q_block": shared.block, "causal": causal,
                                 "ranked_group": shared.schedule.grid.ranked if shared.schedule.grid else 0,
                                 "emitted_multicast": "noc_async_write_multicast" in shared.to_mlir()})
    Console().print(table)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
