"""Broadcasts: do per-row work on the column vector, not on the broadcast matrix."""

from egglog import rewrite

from tteqsat.egraph import bcast, binary, scalar, unary
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, k, n, s, v

RULESET = RuleSet("broadcast", "move scales and reciprocals onto vectors before they are broadcast", "grow", (
    Rule("scale-through-bcast", rewrite(bcast(k, scalar("mul_s", v, s), n)).to(scalar("mul_s", bcast(k, v, n), s))),  # bcast(v*s) == bcast(v)*s
    Rule("div-by-bcast", rewrite(binary("div", a, bcast(k, v, n))).to(binary("mul", a, bcast(k, unary("recip", v), n)))),  # a / bcast(v) == a * bcast(recip(v))
))
