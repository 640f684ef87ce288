"""Softmax has no hardware form of its own: it must be expanded into reductions and elementwise ops."""

from egglog import rule, union

from tteqsat.egraph import bcast, binary, cols, reduce, softmax, unary
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, n, y


def _expanded(x, width):  # exp(x - max) / sum(exp(x - max)), max and sum per row
    e = unary("exp", binary("sub", x, bcast("cols", reduce("rowmax", x), width)))
    return binary("div", e, bcast("cols", reduce("rowsum", e), width))


RULESET = RuleSet("softmax", "expand softmax into row max, shifted exp, row sum and a divide", "expand", (
    Rule("softmax-expand", rule(y == softmax(a), n == cols(a), name="softmax-expand").then(union(y).with_(_expanded(a, n)))),  # softmax(x) == exp(x - rowmax x) / rowsum(exp(x - rowmax x))
))
