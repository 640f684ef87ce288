"""Rule soundness by random testing: both sides of a rule evaluated in numpy on inputs the pattern admits.

A rule claims `lhs == rhs` wherever its pattern matches and its conditions hold. The checker reads that
claim from the egglog declaration, infers the shapes the pattern admits, draws inputs that include the hard
cases (large magnitudes, negatives, values near the bf16 exp overflow at ~88, small positives for
log/sqrt/recip), and compares the sides: in float64 for the error (relative to the largest value the left
side computes, so cancellation in a sound rule does not count against it), and in float32 (bf16 has the
same exponent range) for infinities the right side introduces where the left side stays clear of the top of
the range. Shapes follow the DSL's invariant (every dimension 1 or a multiple of the tile; matmul operands
whole tiles). Samples where the left side is not finite are skipped element by element. A pass means no
counterexample was found, not a proof.

Semantics mirror `tteqsat.frontend.reference`: math constructors go through `reference.eval_node`, hardware forms
follow `extraction.semantics.evaluate_program` (operand order of dest reuse, the scaler of reduce, matmul's
transposed B), and the streaming folds follow the docstrings in `tteqsat.egraph`.
"""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass

import numpy as np

from tteqsat.rulecheck.claims import Call, Claim, Eq, Fact, Holds, Lit, Term, Uncheckable, Var, claims
from tteqsat.rulecheck.evaluate import MODE_WEIGHTS, MODES, Evaluator, Varying, draw, fmt_value
from tteqsat.rulecheck.shapes import (
    DOMAIN_ARG,
    DOMAINS,
    FLAGS,
    OP_POSITIONS,
    TRIPS,
    IllFormed,
    Shapes,
    Skip,
    fact_terms,
    term_vars,
    walk,
)
from tteqsat.rules import Rule, RuleSet

TOLERANCE = 1e-7  # worst |lhs - rhs| / (largest value the lhs computes) a sound rule may show in float64
HARD_SCALARS = (0.125, -0.125, 1.0, -1.0, 0.5, 2.0, -2.5, 1000.0, -1000.0, 1e-3, 0.0, 88.0)
MAX_COMBOS = 64  # op/flag combinations tried per rule (all of them when there are fewer)

# -- one claim, many samples --------------------------------------------------------------------------------
@dataclass
class _Outcome:
    error: float
    failure: str | None = None  # why this sample is a counterexample
    size: int = 0


class _Plan:
    """How to sample one claim: which variables are drawn, which the facts define, and their domains."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim
        in_pattern: set[str] = set()
        self.domains: dict[str, set[str]] = {}
        self.roles: dict[str, str] = {}
        varying: set[str] = set()
        for f in claim.facts:
            for root in fact_terms(f):
                in_pattern |= _pattern_vars(root)
                for t, parent, in_fold in walk(root):
                    if isinstance(t, Lit) and parent in OP_POSITIONS and t.value not in DOMAINS[parent]:
                        raise Uncheckable(f"never matches: {parent[0]} has no op {t.value!r}")
                    if not isinstance(t, Var) or parent is None:
                        continue
                    if in_fold and t.sort == "TensorExpr":
                        varying.add(t.name)
                    if t.sort == "String":
                        dom = set(DOMAINS.get(parent, ()))
                        self.domains[t.name] = self.domains.get(t.name, dom) & dom
                    if t.sort == "i64":
                        role = "flag" if parent in FLAGS else "trips" if parent in TRIPS else "dim"
                        self.roles.setdefault(t.name, role)
        self.defined: dict[str, Fact] = {}
        for f in claim.facts:
            if isinstance(f, Eq):
                for v, other in ((f.left, f.right), (f.right, f.left)):
                    if not isinstance(v, Var) or v.name in self.defined or v.name in term_vars(other):
                        continue
                    if v.sort == "TensorExpr" or v.name not in in_pattern:
                        self.defined[v.name] = f
                        break
        tensor_defs = [f for f in claim.facts if isinstance(f, Eq) and f.left.sort == "TensorExpr"
                       and f not in self.defined.values()]
        if tensor_defs:
            raise Uncheckable("the body equates two patterns, which random inputs cannot satisfy")
        everything = set().union(*(term_vars(t) for f in claim.facts for t in fact_terms(f)))
        self.sampled = sorted(everything - set(self.defined))
        missing = (term_vars(claim.rhs) | term_vars(claim.lhs)) - everything
        if missing:
            raise Uncheckable(f"variables {sorted(missing)} are not bound by the pattern")
        self.sorts = {x.name: x.sort for f in claim.facts for t in fact_terms(f) for x, _, _ in walk(t)
                      if isinstance(x, Var)}
        self.varying = varying - set(self.defined)
        for name in self.sampled:
            sort = self.sorts[name]
            if sort == "String" and not self.domains.get(name):
                raise Uncheckable(f"no op is valid for {name} at every position it appears")
            if sort not in ("TensorExpr", "String", "i64", "f64"):
                raise Uncheckable(f"variables of sort {sort}")
        self.literal_scalars = sorted({float(t.value) for f in claim.facts for r in fact_terms(f)
                                       for t, _, _ in walk(r) if isinstance(t, Lit) and t.sort == "f64"})

    def combos(self, rng: np.random.Generator) -> list[dict[str, object]]:
        names = [n for n in self.sampled if self.sorts[n] == "String" or self.roles.get(n) == "flag"]
        doms = [sorted(self.domains[n]) if self.sorts[n] == "String" else [0, 1] for n in names]
        every = [dict(zip(names, c, strict=True)) for c in itertools.product(*doms)]
        if len(every) > MAX_COMBOS:
            every = [every[i] for i in sorted(rng.choice(len(every), MAX_COMBOS, replace=False))]
        return every

    def draw(self, choice: dict[str, object], rng: np.random.Generator) -> dict[str, object]:
        shapes = Shapes(choice)
        for f in self.claim.facts:
            shapes.fact(f)
        dim = shapes.assign(rng)
        env: dict[str, object] = dict(choice)
        positive = self._domain_vars(choice)
        for name in self.sampled:
            sort, role = self.sorts[name], self.roles.get(name)
            if name in env:
                continue
            if sort == "TensorExpr":
                shape = (dim(("r", name)), dim(("c", name)))
                p = MODE_WEIGHTS[name in positive]
                mode = str(rng.choice(MODES, p=np.array(p) / sum(p)))
                env[name] = (Varying(shape, mode, int(rng.integers(2**31))) if name in self.varying
                             else draw(rng, shape, mode))
            elif sort == "i64":
                env[name] = int(rng.integers(1, 4)) if role == "trips" else dim(("v", name))
            elif sort == "f64":
                pool = HARD_SCALARS + tuple(self.literal_scalars) + tuple(-x for x in self.literal_scalars)
                env[name] = (float(rng.choice(pool)) if rng.random() < 0.5
                             else float(rng.standard_normal() * 10 ** rng.uniform(-2, 2)))
        return env

    def _domain_vars(self, choice: dict[str, object]) -> set[str]:
        """Variables under log/sqrt/rsqrt/recip or a divisor: drawn positive more often."""
        out: set[str] = set()
        for f in self.claim.facts:
            for root in fact_terms(f):
                for t, _, _ in walk(root):
                    if isinstance(t, Call) and t.args and isinstance(t.args[0], Lit | Var):
                        op = t.args[0].value if isinstance(t.args[0], Lit) else choice.get(t.args[0].name)
                        arg = DOMAIN_ARG.get((t.fn, op))  # type: ignore[arg-type]
                        if arg is not None and arg < len(t.args):
                            out |= term_vars(t.args[arg])
        return out

    def facts(self, ev: Evaluator) -> None:
        """Evaluate the facts in dependency order: bind what they define, check the rest."""
        pending = list(self.claim.facts)
        while pending:
            for f in pending:
                binds = next((n for n, g in self.defined.items() if g is f and n not in ev.env), None)
                if binds is not None:
                    other = f.right if isinstance(f.left, Var) and f.left.name == binds else f.left  # type: ignore[union-attr]
                    if term_vars(other) <= set(ev.env):
                        ev.env[binds] = ev.value(other)
                        pending.remove(f)
                        break
                    continue
                terms = fact_terms(f)
                if all(term_vars(t) <= set(ev.env) for t in terms):
                    values = [ev.value(t) for t in terms]
                    if isinstance(f, Holds):
                        ok = isinstance(values[0], np.ndarray) or bool(values[0])
                    else:
                        ok = _equal(values[0], values[1])
                    if not ok:
                        raise Skip("conditions")
                    pending.remove(f)
                    break
            else:
                raise Uncheckable("facts whose variables no other fact binds")

    def compare(self, env: dict[str, object], seed: int, tolerance: float) -> _Outcome:
        base = {k: v for k, v in env.items()}
        ev = Evaluator(dict(base), np.float64, seed)
        try:
            self.facts(ev)
            lhs = ev.tensor(self.claim.lhs, None)
        except IllFormed as e:
            raise Skip(str(e)) from None
        base.update({k: v for k, v in ev.env.items() if k.startswith("__") or k.startswith("input_:")})
        mask = np.isfinite(lhs)
        if not mask.any():
            raise Skip("left side not finite")
        size = sum(v.size for v in base.values() if isinstance(v, np.ndarray))
        ev.track = False
        try:
            rhs = ev.tensor(self.claim.rhs, None)
        except IllFormed as e:
            return _Outcome(float("inf"), f"the right side is ill-formed: {e}", size)
        if rhs.shape != lhs.shape:
            return _Outcome(float("inf"), f"the right side has shape {rhs.shape}, the left {lhs.shape}", size)
        if not np.isfinite(rhs[mask]).all():
            i = _first(mask & ~np.isfinite(rhs))
            return _Outcome(float("inf"), f"lhs{list(i)} = {lhs[i]:.6g} but rhs{list(i)} = {rhs[i]}", size)
        diff = np.where(mask, np.abs(lhs - rhs), 0.0)
        err = float(diff.max()) / max(ev.scale, 1e-300)
        if err > tolerance:
            i = _first(diff == diff.max())
            return _Outcome(err, f"lhs{list(i)} = {lhs[i]:.6g} but rhs{list(i)} = {rhs[i]:.6g} "
                                 f"(relative error {err:.3g})", size)
        return self._overflow(base, seed, mask, err, size)

    def _overflow(self, base: dict[str, object], seed: int, mask: np.ndarray, err: float,
                  size: int) -> _Outcome:
        """In float32 (bf16's exponent range), the right side must be finite wherever the left side is."""
        ev = Evaluator(dict(base), np.float32, seed)
        try:
            self.facts(ev)
            lhs = ev.tensor(self.claim.lhs, None)
            rhs = ev.tensor(self.claim.rhs, None)
        except (IllFormed, Skip):
            return _Outcome(err, None, size)
        # where the left side is comfortably finite (not within 2x of the top of the range, where the order
        # of two roundings decides), the right side must be finite too
        bad = mask & (np.abs(lhs) <= np.finfo(np.float32).max / 2) & ~np.isfinite(rhs)
        if bad.any():
            i = _first(bad)
            return _Outcome(float("inf"), f"in float32/bf16 lhs{list(i)} = {lhs[i]:.6g} is finite but "
                                          f"rhs{list(i)} = {rhs[i]} overflows", size)
        return _Outcome(err, None, size)


def _pattern_vars(t: Term) -> set[str]:
    """Variables the e-graph binds by matching: arguments of constructors and relations, not of primitives."""
    if not isinstance(t, Call) or t.prim:
        return set()
    out: set[str] = set()
    for a in t.args:
        out |= {a.name} if isinstance(a, Var) else _pattern_vars(a)
    return out


def _equal(x: object, y: object) -> bool:
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape and bool(
            np.allclose(x, y, rtol=1e-9, atol=0.0, equal_nan=True))
    return x == y


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


# -- the public API ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleCheck:
    """The verdict on one rule. `sound` is False for a counterexample and for a rule the checker cannot test
    (then `note` says why and `counterexample` is None)."""

    name: str
    ruleset: str
    worst_error: float
    samples: int
    sound: bool
    counterexample: str | None
    note: str | None = None


def check_rule(rule: Rule, ruleset: str = "", samples: int = 20, seed: int = 0,
               tolerance: float = TOLERANCE) -> RuleCheck:
    """Test one rule on `samples` inputs per op combination; keep the most readable counterexample."""
    rng = np.random.default_rng([seed, zlib.crc32(rule.name.encode())])
    worst, valid = 0.0, 0
    found: tuple[tuple[bool, int], str] | None = None
    skipped: dict[str, int] = {}
    try:
        rule_claims = claims(rule)
        if not rule_claims:
            return RuleCheck(rule.name, ruleset, 0.0, 0, True, None, "asserts no equality")
        with np.errstate(all="ignore"):
            for claim in rule_claims:
                plan = _Plan(claim)
                for choice in plan.combos(rng):
                    got = 0
                    for _ in range(samples * 12):
                        if got == samples:
                            break
                        try:
                            env = plan.draw(choice, rng)
                            out = plan.compare(env, int(rng.integers(2**31)), tolerance)
                        except Skip as e:
                            skipped[str(e)] = skipped.get(str(e), 0) + 1
                            continue
                        got += 1
                        worst = max(worst, out.error)
                        rank = (not np.isfinite(out.error), out.size)  # finite and small reads best
                        if out.failure and (found is None or rank < found[0]):
                            shown = ", ".join(f"{k} = {fmt_value(v)}" for k, v in sorted(env.items()))
                            found = (rank, f"{shown}: {out.failure}")
                    valid += got
    except Uncheckable as e:
        return RuleCheck(rule.name, ruleset, float("nan"), valid, False, None, f"cannot check: {e}")
    if found is not None:
        return RuleCheck(rule.name, ruleset, worst, valid, False, found[1])
    if valid == 0:
        why = max(skipped, key=lambda k: skipped[k]) if skipped else "?"
        return RuleCheck(rule.name, ruleset, float("nan"), 0, False, None,
                         f"cannot check: no sample matched the pattern and its conditions (mostly: {why})")
    return RuleCheck(rule.name, ruleset, worst, valid, True, None)


def check_ruleset(rs: RuleSet, samples: int = 20, seed: int = 0,
                  tolerance: float = TOLERANCE) -> list[RuleCheck]:
    """Check every rule of `rs` (see module docstring); deterministic for a given seed."""
    return [check_rule(r, rs.name, samples, seed, tolerance) for r in rs.rules]
