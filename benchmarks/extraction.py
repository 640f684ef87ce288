"""Greedy against ILP extraction: item cost, modeled schedule cycles and time, with the gap.

    python benchmarks/extraction.py [--time-limit 10] [--sizes 20,40,100,200] [--seeds 3]

Item cost is the objective both extractors minimize (extract.py's items). The modeled cycles are those of
the schedule optimize() builds from each extractor's program (fused, streaming and baseline compete as
usual), so a smaller item cost need not give fewer cycles. Prints markdown tables.
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings
from pathlib import Path

import tteqsat as tq
from tteqsat.arch import load_arch
from tteqsat.cost import TensixCostModel
from tteqsat.egraph.random_graph import input_names, random_egraph
from tteqsat.extraction.greedy import extract
from tteqsat.extraction.ilp import extract_ilp, item_cost, solve_ilp
from tteqsat.frontend.loader import load_kernel

KERNELS = Path(__file__).resolve().parent.parent / "examples" / "kernels"


def _row(cells: list[object]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def kernels_table(archs: list[str], time_limit: float) -> list[str]:
    head = ["kernel", "arch", "greedy items", "ILP optimum", "gap", "kept", "greedy ms", "ILP ms", "ILP status",
            "greedy cycles", "ILP cycles"]
    lines = [_row(head), _row(["---"] * len(head))]
    for path in sorted(KERNELS.glob("*.py")):
        kernel = load_kernel(str(path))
        for arch in archs:
            seen: dict[str, object] = {}

            def recording(graph, model, name, dtype, inputs, mode="fused", seen=seen, price=None, **options):
                if mode == "fused":
                    start = time.perf_counter()
                    try:
                        seen["greedy"] = item_cost(extract(graph, model, name, dtype, inputs, mode="fused"), model)
                    except tq.KernelError as e:  # e.g. a value too big for L1 whole: only streaming fits
                        seen["error"] = str(e)
                        raise
                    seen["greedy_s"] = time.perf_counter() - start
                    seen["ilp"] = solve_ilp(graph, model, name, dtype, inputs, time_limit, mode="fused", price=price)
                return extract_ilp(graph, model, name, dtype, inputs, mode, time_limit=time_limit, price=price,
                                   **options)

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                greedy_res = tq.optimize(kernel, arch)
                ilp_res = tq.optimize(kernel, arch, extractor=recording)
            if "error" in seen:
                lines.append(_row([path.stem, arch, "fused infeasible", "", "", "", "", "", "", "",
                                   f"{ilp_res.cost_cycles:,.0f} (both {ilp_res.chosen})"]))
                continue
            ilp = seen["ilp"]
            greedy = float(seen["greedy"])  # type: ignore[arg-type]
            optimum = ilp.optimum if ilp.optimum is not None else ilp.objective  # type: ignore[attr-defined]
            gap = (greedy - optimum) / greedy
            lines.append(_row([path.stem, arch, f"{greedy:,.0f}", f"{optimum:,.0f}", f"{gap:.1%}",
                               ilp.chosen, f"{1000 * float(seen['greedy_s']):.1f}",  # type: ignore[attr-defined,arg-type]
                               f"{1000 * ilp.seconds:.1f}", ilp.status,  # type: ignore[attr-defined]
                               f"{greedy_res.cost_cycles:,.0f}", f"{ilp_res.cost_cycles:,.0f}"]))
    return lines


def random_table(sizes: list[int], seeds: int, time_limit: float) -> list[str]:
    model = TensixCostModel(load_arch("wormhole_b0"))
    head = ["classes", "seed", "e-nodes", "greedy items", "ILP items", "gap", "greedy ms", "ILP s", "status",
            "variables", "rows"]
    lines = [_row(head), _row(["---"] * len(head))]
    for size in sizes:
        for seed in range(seeds):
            graph = random_egraph(seed, classes=size)
            names = input_names(graph)
            start = time.perf_counter()
            greedy = item_cost(extract(graph, model, "random", "bf16", names), model)
            greedy_s = time.perf_counter() - start
            res = solve_ilp(graph, model, "random", "bf16", names, time_limit)
            lines.append(_row([size, seed, graph.n_nodes, f"{greedy:,.0f}", f"{res.objective:,.0f}", f"{res.gap:.1%}",
                               f"{1000 * greedy_s:.1f}", f"{res.seconds:.2f}", res.status, res.variables, res.rows]))
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--sizes", default="20,40,100,200")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, ILP time limit {args.time_limit:g} s\n")
    print("acceptance kernels (bf16):\n")
    print("\n".join(kernels_table(["wormhole_b0", "blackhole"], args.time_limit)))
    print("\nrandom e-graphs (wormhole_b0 costs; 3 inputs, up to 3 forms per class, 5% back edges):\n")
    print("\n".join(random_table([int(s) for s in args.sizes.split(",")], args.seeds, args.time_limit)))


if __name__ == "__main__":
    main()
