"""Reductions and where they sit: scales through max/sum, normalization deferred past a matmul."""

from egglog import rewrite, rule, union

from tteqsat.egraph import bcast, binary, cols, matmul, reduce, scalar, tilesum
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import N, a, b, m, n, s, v, y

RULESET = RuleSet("reductions", "move scales through reductions; defer row normalization past a matmul", "grow", (
    Rule("rowmax-of-scaled", rewrite(reduce("rowmax", scalar("mul_s", a, s))).to(scalar("mul_s", reduce("rowmax", a), s), s > 0.0)),  # max(a*s) == max(a)*s for s > 0
    Rule("rowsum-of-scaled", rewrite(reduce("rowsum", scalar("mul_s", a, s))).to(scalar("mul_s", reduce("rowsum", a), s))),  # sum(a*s) == sum(a)*s
    Rule("defer-row-normalization", rule(y == matmul(binary("mul", a, bcast("cols", v, m)), b), n == cols(b), name="defer-row-normalization").then(union(y).with_(binary("mul", matmul(a, b), bcast("cols", v, n))))),  # (a * bcast(v)) @ b == (a @ b) * bcast(v), v per row
    Rule("rowsum-by-tilesum", rule(y == reduce("rowsum", a), N == cols(a), N > 32, name="rowsum-by-tilesum").then(union(y).with_(reduce("rowsum", tilesum(a))))),  # rowsum(a) == rowsum(sum of a's column tiles): across tiles in L1, within the tile once
))
