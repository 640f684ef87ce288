"""`tteqsat rules list|check|stats`: the rule author's commands.

    tteqsat rules list  [--rules FILE] [--verbose]
        rulesets in stage order with their rule counts and descriptions (--verbose: every rule)
    tteqsat rules check [--ruleset NAME] [--rules FILE] [--samples N] [--seed S]
        random-test soundness of each rule (tteqsat.rulecheck)
    tteqsat rules stats FILE.py [--arch A|FILE.toml] [--set KEY=VALUE] [--rules FILE] [--no-check-rules]
        per-rule matches, e-nodes added, time and use on one kernel, and the derivation (tteqsat.tools.rule_stats)

Exit status: 0 success, 1 a rule is unsound (or cannot be checked), 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable

from tteqsat.cli.options import add_rule_options, add_set_option, parse_set
from tteqsat.egraph.saturate import Limits
from tteqsat.errors import KernelError
from tteqsat.rules import RuleSet, check_unique_names, load_rule_file, shipped_rulesets
from tteqsat.tools.console import console_for


def _console():
    return console_for(sys.stdout)


def _one_line_errors(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Bad input is one line on stderr and exit status 2, wherever the command is wired."""
    def run(args: argparse.Namespace) -> int:
        try:
            return fn(args)
        except KernelError as e:
            print(f"tteqsat: error: {e}", file=sys.stderr)
            return 2
    run.__doc__ = fn.__doc__
    return run


def _user_rulesets(files: list[str] | None) -> list[RuleSet]:
    """The rule files' rulesets; a name taken by a shipped ruleset or rule is refused here as `optimize` would."""
    user = [rs for f in files or [] for rs in load_rule_file(f)]
    check_unique_names(shipped_rulesets() + user)
    return user


def _selected(args: argparse.Namespace) -> list[RuleSet]:
    """--ruleset names pick shipped rulesets, --rules files add theirs; neither: every shipped ruleset."""
    shipped = shipped_rulesets()
    user = _user_rulesets(args.rules)
    if not args.ruleset:
        return user or shipped
    known = {rs.name: rs for rs in shipped + user}
    unknown = [n for n in args.ruleset if n not in known]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        raise KernelError(f"unknown ruleset {names} (known: {', '.join(known)})")
    picked = [known[n] for n in dict.fromkeys(args.ruleset)]
    return picked + [rs for rs in user if rs not in picked]


@_one_line_errors
def cmd_list(args: argparse.Namespace) -> int:
    """Rulesets in stage order with their rule counts and one-line descriptions."""
    from rich.markup import escape
    from rich.table import Table

    from tteqsat.rulecheck.claims import describe

    rulesets = shipped_rulesets() + _user_rulesets(args.rules)
    table = Table(title="rulesets", title_justify="left")
    for col in ("ruleset", "stage", "rules", "description"):
        table.add_column(col, justify="right" if col == "rules" else "left")
    for rs in rulesets:
        table.add_row(rs.name, rs.stage, str(len(rs.rules)), escape(rs.description))
    console = _console()
    console.print(table)
    if args.verbose:
        rules = Table(title="rules", title_justify="left")
        for col in ("ruleset", "rule", "rewrite"):
            rules.add_column(col)
        for rs in rulesets:
            for r in rs.rules:
                rules.add_row(rs.name, r.name, escape(describe(r)))
        console.print(rules)
    return 0


@_one_line_errors
def cmd_check(args: argparse.Namespace) -> int:
    """Random-test every selected rule; name each unsound one with its counterexample."""
    from rich.markup import escape
    from rich.table import Table

    from tteqsat.rulecheck.sampling import check_ruleset

    if args.samples < 1:
        raise KernelError(f"--samples must be at least 1, got {args.samples}")
    rulesets = _selected(args)
    start = time.perf_counter()
    checks = [c for rs in rulesets for c in check_ruleset(rs, args.samples, args.seed)]
    elapsed = time.perf_counter() - start
    table = Table(title=f"soundness: {args.samples} samples per op combination, seed {args.seed}",
                  title_justify="left")
    for col in ("ruleset", "rule", "samples", "worst error", "verdict"):
        table.add_column(col, justify="right" if col in ("samples", "worst error") else "left")
    for c in checks:
        verdict = "ok" if c.sound else "UNSOUND" if c.counterexample else "cannot check"
        table.add_row(c.ruleset, c.name, str(c.samples), f"{c.worst_error:.2g}", verdict)
    console = _console()
    console.print(table)
    bad = [c for c in checks if not c.sound]
    for c in bad:
        if c.counterexample:
            console.print(f"UNSOUND: rule '{c.name}' (ruleset {c.ruleset}): counterexample "
                          f"{escape(c.counterexample)}", soft_wrap=True)
        else:
            console.print(f"NOT CHECKED: rule '{c.name}' (ruleset {c.ruleset}): {escape(c.note or '')}",
                          soft_wrap=True)
    console.print(f"{len(checks) - len(bad)} of {len(checks)} rules passed in {elapsed:.2f} s"
                  " (random testing: a pass means no counterexample was found)")
    return 1 if bad else 0


@_one_line_errors
def cmd_stats(args: argparse.Namespace) -> int:
    """Per-rule statistics on one kernel and the derivation of its chosen schedule."""
    from rich.markup import escape
    from rich.table import Table

    from tteqsat.frontend.loader import load_kernel  # here, not at import time: cli.main imports this module
    from tteqsat.pipeline import optimize
    from tteqsat.tools.rule_stats import stats_of, steps_of

    kernel = load_kernel(args.file)
    overrides = dict(parse_set(s) for s in args.set or [])
    rulesets = shipped_rulesets() + _user_rulesets(args.rules)
    console = _console()
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        full = optimize(kernel, args.arch, limits=Limits.from_arguments(args), rules=rulesets, shipped_rules=False,
                        check_rules=not args.no_check_rules, overrides=overrides)
        if console.is_terminal:
            with console.status("optimizing") as status:
                stats = stats_of(full, on_rule=lambda i, n, name: status.update(f"ablating {i + 1}/{n}: {name}"))
        else:
            stats = stats_of(full)
    elapsed = time.perf_counter() - start
    settings = "".join(f", {k}={v}" for k, v in overrides.items())
    table = Table(title=f"rules on {kernel.name} ({full.arch.name}{settings})", title_justify="left")
    for col in ("stage", "ruleset", "rule", "matches", "e-nodes added", "ms", "used", "without it"):
        table.add_column(col, justify="right" if col in ("matches", "e-nodes added", "ms") else "left")
    for s in stats:
        if s.matches:
            table.add_row(s.stage, s.ruleset, s.name, str(s.matches), str(s.enodes_added),
                          f"{s.seconds * 1e3:.2f}", "yes" if s.used else "no", escape(s.change))
    console.print(table)
    idle = [s.name for s in stats if not s.matches]
    if idle:
        console.print(f"{len(idle)} rules never matched: {', '.join(idle)}", soft_wrap=True)
    steps = steps_of(stats)
    der = Table(title="derivation: the rules the chosen schedule depends on, in stage order",
                title_justify="left")
    for col in ("#", "stage", "rule", "rewrote (lhs -> rhs)", "without it"):
        der.add_column(col, justify="right" if col == "#" else "left")
    for i, step in enumerate(steps, 1):
        der.add_row(str(i), step.stage, step.rule, escape(step.rewrite), escape(step.change))
    console.print(der)
    for note in dict.fromkeys(str(n.message) for n in notes):
        console.print(f"note: {escape(note)}")
    console.print(f"{len(stats)} rules, {sum(1 for s in stats if s.matches)} matched, {len(steps)} used; "
                  f"{elapsed:.1f} s (one re-optimization per matched rule)")
    return 0


def add_rules_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add `rules list|check|stats` to the `tteqsat` command's subparsers."""
    p = subparsers.add_parser("rules", help="list, soundness-check and measure rewrite rules")
    sub = p.add_subparsers(dest="rules_command", required=True, metavar="{list,check,stats}")
    rules_help = "also load rulesets from a Python file defining RULESET (repeatable)"

    ls = sub.add_parser("list", help="rulesets with their stage, rule count and description")
    ls.add_argument("--rules", action="append", metavar="FILE", help=rules_help)
    ls.add_argument("-v", "--verbose", action="store_true", help="also list every rule as lhs -> rhs")
    ls.set_defaults(run=cmd_list)

    ck = sub.add_parser("check", help="random-test rules for soundness (exit 1 if one is unsound)")
    ck.add_argument("--ruleset", action="append", metavar="NAME", help="check this ruleset (repeatable)")
    ck.add_argument("--rules", action="append", metavar="FILE",
                    help="check the rulesets of this file (repeatable); alone, only these are checked")
    ck.add_argument("--samples", type=int, default=20,
                    help="samples per rule and op combination (default 20)")
    ck.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ck.set_defaults(run=cmd_check)

    st = sub.add_parser("stats",
                        help="per-rule matches, e-nodes, time and use on one kernel, and the derivation")
    st.add_argument("file", help="a Python file defining `kernel = tq.kernel(...)`")
    st.add_argument("--arch", default="wormhole_b0", help="wormhole_b0, blackhole, or an arch .toml file")
    add_set_option(st)
    add_rule_options(st)
    Limits.add_arguments(st)
    st.set_defaults(run=cmd_stats)
