"""optimize()'s wall time per stage on big attention kernels, and a fingerprint of everything it decides.

    python benchmarks/optimize_wall.py OUT.json [CASE ...]     # time each case, write its fingerprint
    python benchmarks/optimize_wall.py --compare A.json B.json  # the cases whose fingerprints differ

A fingerprint is every modeled number (reprs: exact floats), the chosen form, reason and notes, the grid plan,
and hashes of the emitted MLIR, C++ and host program: two runs of different code that should change no result
(a speed-up) must give identical fingerprints. Wall times are one run each on a shared machine: compare
ratios measured in one session.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import numpy as np

import tteqsat as tq


def causal(s: int, d: int) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (1, 32, s, d)) for n in "qkv")
    return tq.kernel("causal", tq.softmax(tq.where(tq.tri(s, s), q @ k.mT * d ** -0.5, -np.inf)) @ v)


def full(s: int, d: int) -> tq.Kernel:
    q, k, v = (tq.tensor(n, (1, 32, s, d)) for n in "qkv")
    return tq.kernel("full", tq.softmax(q @ k.mT * d ** -0.5) @ v)


def decode(s: int, d: int) -> tq.Kernel:
    q = tq.tensor("q", (1, 32, 1, d))
    k, v = (tq.tensor(n, (1, 32, s, d)) for n in "kv")
    return tq.kernel("decode", tq.softmax(q @ k.mT * d ** -0.5) @ v)


CASES = {
    "causal4096-bh": (lambda: causal(4096, 128), "blackhole"),
    "causal4096-wh": (lambda: causal(4096, 128), "wormhole_b0"),
    "full2048-bh": (lambda: full(2048, 128), "blackhole"),
    "causal1024d64-wh": (lambda: causal(1024, 64), "wormhole_b0"),
    "decode8192-bh": (lambda: decode(8192, 128), "blackhole"),
    "causal8192-bh": (lambda: causal(8192, 128), "blackhole"),
    "causal8192-wh": (lambda: causal(8192, 128), "wormhole_b0"),
}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(r: tq.Result) -> dict[str, object]:
    out: dict[str, object] = {
        "cost_cycles": repr(r.cost_cycles), "baseline_cycles": repr(r.baseline_cycles), "chosen": r.chosen,
        "block": r.block, "reason": r.reason, "warnings": r.warnings, "comparison": r.comparison(),
        "chip": repr(r.chip), "baseline_chip": repr(r.baseline_chip),
        "alternatives": {k: repr(a) for k, a in r.alternatives.items()}, "grid": repr(r.schedule.grid),
        "mlir": _hash(r.to_mlir()), "cpp": _hash(json.dumps(r.to_cpp(), sort_keys=True)),
        "host": _hash(r.to_host().to_json())}
    if r.split is not None:
        out["combine"] = fingerprint(r.split.combine)
        out["split_parts"] = repr(r.split.kv.parts)
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--compare"]:
        a, b = (json.load(open(p)) for p in argv[1:3])
        differ = [k for k in a if k in b and a[k] != b[k]]
        for k in (k for k in a if k in b):
            fields = [f for f in a[k] if a[k][f] != b[k].get(f)]
            print(f"{k}: " + ("differs in " + ", ".join(fields) if fields else "identical"))
        return 1 if differ else 0
    path, names = argv[0], argv[1:] or list(CASES)
    found: dict[str, object] = {}
    for name in names:
        make, arch = CASES[name]
        start = time.perf_counter()
        result = tq.optimize(make(), arch)
        wall = time.perf_counter() - start
        found[name] = fingerprint(result)
        stages = ", ".join(f"{k} {v:.2f}" for k, v in result.times.items())
        print(f"{name}: {wall:.1f} s ({stages})", flush=True)
        with open(path, "w") as f:
            json.dump(found, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
