"""The differential fuzzer's long run: counts per outcome, and a shrunk repro for every failing outcome.

    python benchmarks/fuzz.py [--n 10000] [--seed 0] [--max-ops 8] [--keys any|long|share|wide|rows]
                              [--shrink-budget 150] [--json out.json]

Kernels come from `tteqsat.tools.fuzzgen.cases` (Hypothesis, a fixed seed, generation only) and each is judged
by `tteqsat.tools.fuzz.run_case`: the DSL's verdict against the documented rules, the reference against the
case's own numpy, the simulated MLIR against the reference, and the auto form's modeled cycles against the
baseline. `--keys long` draws only long-key kernels instead (`tteqsat.tools.fuzzlong`: attention and row-wise
kernels over rows of 256-2048 columns, batched heads, grouped K/V, masks, biases), the shapes that stream; a
further table then counts the machinery the passing schedules used (loops, sections ahead, skipped chunks).
`--keys wide` draws attention over 4096-8192 keys with one or two tile rows of q, whose chunks fit L1 only with
one-chunk streams or P packed over S (`tteqsat.tools.fuzzlong.wide_cases`). `--keys rows` draws row-wise kernels
over one tile row of 16384-32768 columns, whose inputs stream pass by pass where the row does not fit L1
(`tteqsat.tools.fuzzlong.rows_cases`).
`--keys share` draws attention-like kernels where cores share K/V reads (`tteqsat.tools.fuzzshare`: causal masks,
GQA, batches, several q blocks a head, few cores, a slow DRAM); a table then counts each sharing kind (none,
lockstep groups, ranked groups) and the cores running several items, over every case that got a schedule. A kernel
whose own bf16 or fp32 rounding would use more than a quarter of the tolerance is compared on inputs narrowed about
the middle of their ranges ("ok on narrowed inputs"), else a bf16 one as its fp32 twin; the machinery tables count
the verified ones (ok, ok on narrowed inputs). After
the run, the first case of each failing outcome is shrunk (greedy, `fuzz.shrink`) and printed
as a standalone script. Exit status 1 when any case failed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import warnings
from collections import Counter

from hypothesis import HealthCheck, Phase, given, seed, settings

from tteqsat.tools.fuzz import PASSING, VERIFIED, Outcome, run_case, sharing_kind, shrink
from tteqsat.tools.fuzzcase import Case, nodes, to_source
from tteqsat.tools.fuzzgen import cases
from tteqsat.tools.fuzzlong import long_cases, rows_cases, wide_cases
from tteqsat.tools.fuzzshare import share_cases

GENERATORS = {"any": "kernels over the whole DSL", "long": "long-key kernels that stream (tools.fuzzlong)",
              "share": "attention whose cores share K/V reads (tools.fuzzshare)",
              "wide": "attention over 4096-8192 keys: one-chunk streams, P over S (tools.fuzzlong)",
              "rows": "row-wise kernels over 16384-32768 columns: inputs streamed pass by pass (tools.fuzzlong)"}

Failures = dict[str, tuple[Case, Outcome]]  # outcome category -> its first case


def run(n: int, seed_value: int, max_ops: int, progress: bool, keys: str = "any"
        ) -> tuple[Counter, Counter, Counter, Counter, Counter, Failures, float]:
    outcomes: Counter = Counter()
    used: Counter = Counter()  # passing cases by the machinery their schedules used (`fuzz.paths`)
    detail: Counter = Counter()  # passing outcomes split further: the form chosen, the requested form
    masked: Counter = Counter()  # outcomes of the kernels with a tq.where, and the masked paths their schedules took
    sharing: Counter = Counter()  # cases with a schedule by how their cores share reads (`sharing_kind`)
    first_failure: Failures = {}
    start = time.perf_counter()

    @seed(seed_value)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(long_cases() if keys == "long" else share_cases() if keys == "share" else wide_cases() if keys == "wide"
           else rows_cases() if keys == "rows"
           else cases(max_ops=max_ops))
    def one(case: Case) -> None:
        out = run_case(case)
        outcomes[out.category] += 1
        verified = out.category in VERIFIED  # on the case's inputs or on narrowed ones
        if verified:
            used["ok"] += 1
            used.update(f"  {p}" + (f" ({case.form} requested)" if p == "loop over chunks" else "")
                        for p in out.paths)
        if out.paths or verified:
            kind = sharing_kind(out.paths)
            sharing["scheduled"] += 1
            sharing[f"  {kind}"] += 1
            if "several items a core" in out.paths:
                sharing[f"  {kind}, several items a core"] += 1
        if any(e.op == "where" for e in nodes(case)):
            masked[f"{out.category}, {case.form} -> {out.detail}" if verified else out.category] += 1
        if verified:
            detail[f"{out.category}, requested {case.form}, chose {out.detail}"] += 1
        elif out.category in PASSING:
            detail[f"{out.category}, requested {case.form}"] += 1
        if out.failed and out.category not in first_failure:
            first_failure[out.category] = (case, out)
        done = sum(outcomes.values())
        if progress and done % (500 if keys == "any" else 50) == 0:
            print(f"  {done:,} cases, {time.perf_counter() - start:,.0f} s, {dict(outcomes)}", file=sys.stderr,
                  flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one()
    return outcomes, detail, masked, used, sharing, first_failure, time.perf_counter() - start


def table(title: str, counts: Counter, total: int | None = None) -> str:
    total = total or sum(counts.values()) or 1
    width = max([len(k) for k in counts] + [len("outcome")])
    lines = [title, f"{'outcome':<{width}}  {'cases':>7}  {'share':>6}", f"{'-' * width}  {'-' * 7}  {'-' * 6}"]
    for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"{key:<{width}}  {count:>7,}  {100 * count / total:>5.1f}%")
    lines.append(f"{'total':<{width}}  {total:>7,}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="kernels to generate and judge")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed")
    parser.add_argument("--max-ops", type=int, default=8, help="ops per generated kernel, at most")
    parser.add_argument("--keys", choices=tuple(GENERATORS), default="any",
                        help="; ".join(f"{k}: {v}" for k, v in GENERATORS.items()))
    parser.add_argument("--shrink-budget", type=int, default=150, help="runs spent shrinking each failure")
    parser.add_argument("--json", help="also write the counts and repros to this file")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    args = parser.parse_args(argv)

    outcomes, detail, masked, used, sharing, failures, seconds = run(args.n, args.seed, args.max_ops, not args.quiet,
                                                            args.keys)
    drawn = {"long": "long keys", "share": "K/V sharing", "wide": "wide chunks", "rows": "wide rows"}.get(args.keys,
                                                                                     f"at most {args.max_ops} ops")
    head = (f"differential fuzzing: {sum(outcomes.values()):,} kernels, seed {args.seed}, {drawn} "
            f"({platform.machine()}, Python {platform.python_version()}, {seconds:,.0f} s)")
    print(table(head, outcomes))
    print()
    print(table("passing cases by requested form and chosen form", detail))
    print()
    print(table("kernels with a mask (tq.where): outcome; when ok, requested -> chosen form (masked paths)", masked))
    if used:
        print()
        print(table("passing cases by the machinery their schedules used (a case counts once per row; share of ok)",
                    used, total=used["ok"]))
    if sharing["scheduled"]:
        print()
        print(table("cases with a schedule (ok or not) by how their cores share K/V reads (share of scheduled)",
                    sharing, total=sharing["scheduled"]))
    repros = {}
    for category, (case, outcome) in sorted(failures.items()):
        small, out = shrink(case, outcome, args.shrink_budget)
        size = sum(1 for e in nodes(small) if e.op != "input")
        repros[category] = {"ops": size, "detail": out.detail, "repro": to_source(small)}
        print(f"\n== {category} (shrunk to {size} ops)\n{out.detail.strip()[:1500]}\n\n{to_source(small)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"n": args.n, "seed": args.seed, "max_ops": args.max_ops, "keys": args.keys, "paths": dict(used),
                       "sharing": dict(sharing),
                       "seconds": round(seconds, 1),
                       "outcomes": dict(outcomes), "detail": dict(detail), "masked": dict(masked), "repros": repros},
                      f, indent=1,
                      sort_keys=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
