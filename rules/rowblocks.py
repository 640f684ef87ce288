"""Row maps: a kernel output whose rows depend only on the same rows of its inputs is a parallel map over
row blocks, the unit of work the grid hands to cores. Block heights come from the `block_height` relation,
so the height is a choice extraction makes; a value some op needs whole (a column reduction) stops the push
and leaves that output unmapped."""

from egglog import String, f64, i64, rewrite, rule, union, vars_

from tteqsat.egraph import (
    bcast,
    binary,
    block_height,
    exp_scaled,
    full_,
    matmul,
    output,
    reduce,
    rowblock,
    rowmap,
    rows,
    scalar,
    softmax,
    unary,
    where_,
    whole,
)
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import N, a, b, m, n, op, s, y

(h,) = vars_("h", i64)
(name, mask) = vars_("name mask", String)
(v,) = vars_("v", f64)
(hb, wc) = vars_("hb wc", i64)

RULESET = RuleSet("rowblocks", "outputs whose rows depend only on the same input rows become maps over row blocks", "expand", (
    Rule("rows-as-blocks", rule(output(name, y), whole(y), N == rows(y), block_height(h), h < N, N % h == i64(0), name="rows-as-blocks").then(union(y).with_(rowmap(rowblock(y, h), h, N / h)))),  # y == its row blocks, each computed alone, stacked
    Rule("block-of-unary", rewrite(rowblock(unary(op, a), h)).to(unary(op, rowblock(a, h)))),  # rows of f(a) == f(rows of a)
    Rule("block-of-binary", rewrite(rowblock(binary(op, a, b), h)).to(binary(op, rowblock(a, h), rowblock(b, h)))),  # rows of a op b == rows of a op rows of b
    Rule("block-of-scalar", rewrite(rowblock(scalar(op, a, s), h)).to(scalar(op, rowblock(a, h), s))),  # rows of a op s == (rows of a) op s
    Rule("block-of-exp-scaled", rewrite(rowblock(exp_scaled(a, s), h)).to(exp_scaled(rowblock(a, h), s))),  # rows of exp(s a) == exp(s rows of a)
    Rule("block-of-softmax", rewrite(rowblock(softmax(a), h)).to(softmax(rowblock(a, h)))),  # a row softmax sees one row at a time
    Rule("block-of-rowmax", rewrite(rowblock(reduce("rowmax", a), h)).to(reduce("rowmax", rowblock(a, h)))),  # rows of rowmax(a) == rowmax(rows of a)
    Rule("block-of-rowsum", rewrite(rowblock(reduce("rowsum", a), h)).to(reduce("rowsum", rowblock(a, h)))),  # rows of rowsum(a) == rowsum(rows of a)
    Rule("block-of-matmul", rewrite(rowblock(matmul(a, b), h)).to(matmul(rowblock(a, h), b))),  # rows of a @ b == (rows of a) @ b, b shared by every block
    Rule("block-of-col-bcast", rewrite(rowblock(bcast("cols", a, n), h)).to(bcast("cols", rowblock(a, h), n))),  # rows of a per-row value broadcast == the broadcast of its rows
    Rule("block-of-where", rewrite(rowblock(where_(mask, a, b, 0, wc), h)).to(where_(mask, rowblock(a, h), rowblock(b, h), h, wc))),  # rows of where(M, a, b) == where(M at the block's global rows, rows of a, rows of b)
    Rule("block-of-full", rewrite(rowblock(full_(v, n, m), h)).to(full_(v, h, m))),  # rows of a constant are a shorter constant
    Rule("block-of-row-bcast", rewrite(rowblock(bcast("rows", a, n), h)).to(bcast("rows", a, h))),  # rows of a row vector broadcast down == the same vector over fewer rows
))
