"""Vectors: a reduction over a length-1 axis is the identity, and softmax over it is 1.

A (m, 1) column vector fills column 0 of its tiles; the other 31 lanes are padding. reduce_tile always
combines all 32 lanes of a tile, so reducing a vector across its length-1 axis on the hardware would fold the
padding into the result (zeros into a max, exp(0) = 1 into a sum). These rules give such a reduction its
true value, the operand itself, before any hardware form is chosen; extraction never picks a reduce_tile
across a length-1 axis (tteqsat.extraction.program.reduces_padding).
"""

from egglog import i64, rewrite

from tteqsat.egraph import bcast, cols, reduce, rows, scalar, softmax
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, n, v

RULESET = RuleSet("vectors", "reductions over a vector's length-1 axis are the identity; softmax over it is 1", "expand", (
    Rule("rowmax-of-column", rewrite(reduce("rowmax", a)).to(a, cols(a) == i64(1))),  # max over a row of one element is that element
    Rule("rowsum-of-column", rewrite(reduce("rowsum", a)).to(a, cols(a) == i64(1))),  # sum over a row of one element is that element
    Rule("colmax-of-row", rewrite(reduce("colmax", a)).to(a, rows(a) == i64(1))),  # max over a column of one element
    Rule("colsum-of-row", rewrite(reduce("colsum", a)).to(a, rows(a) == i64(1))),  # sum over a column of one element
    Rule("bcast-cols-to-one", rewrite(bcast("cols", v, n)).to(v, n == i64(1))),  # a column broadcast to one column is itself
    Rule("bcast-rows-to-one", rewrite(bcast("rows", v, n)).to(v, n == i64(1))),  # a row broadcast to one row is itself
    Rule("softmax-of-column", rewrite(softmax(a)).to(scalar("add_s", scalar("mul_s", a, 0.0), 1.0), cols(a) == i64(1))),  # softmax over one element: exp(x - x) / exp(x - x) == x * 0 + 1 (nan where x is inf or nan, as both)
))
