"""Masks: a mask is an index function of the global (row, col), so it moves into row blocks and K chunks by
shifting where it is evaluated; and a fold over chunks of scores masked to -inf skips the chunks where the
mask holds nowhere in the current row block: their exp(s (x - max)) is zero and their max is -inf. The
skipping rules need only that shape (online softmax over masked scores); no rule mentions attention."""

from egglog import String, f64, i64, rewrite, rule, union, vars_

from tteqsat.egraph import (
    TensorExpr,
    bcast,
    binary,
    cols,
    exp_scaled,
    fold_max,
    fold_max_live,
    full_,
    kchunk,
    matmul,
    online_live,
    online_sum,
    reduce,
    scalar,
    tilesum,
    where_,
)
from tteqsat.rules import Rule, RuleSet

mask, = vars_("mask", String)
a, b, x, y, rm = vars_("a b x y rm", TensorExpr)
r, c, w, w2, hb, t, n = vars_("r c w w2 hb t n", i64)
s, v = vars_("s v", f64)
NEG = f64(float("-inf"))


def _p(xx, mm, ww, ss):  # exp(s (x - max)) of a chunk, the max broadcast along the row
    return exp_scaled(binary("sub", xx, bcast("cols", mm, ww)), ss)


XM = where_(mask, x, full_(NEG, r, c), hb, w)  # a chunk of scores masked to -inf, the mask at the chunk's columns


RULESET = RuleSet("masks", "masks move into chunks; folds over masked scores skip the chunks the mask leaves empty", "grow", (
    Rule("chunk-of-where", rewrite(kchunk(where_(mask, a, b, hb, 0), w)).to(where_(mask, kchunk(a, w), kchunk(b, w), hb, w))),  # columns of where(M, a, b) == where(M at those global columns, columns of a, columns of b)
    Rule("chunk-of-full", rewrite(kchunk(full_(v, r, c), w)).to(full_(v, r, w))),  # columns of a constant are a narrower constant
    Rule("scale-out-of-masked", rewrite(where_(mask, scalar("mul_s", a, s), full_(NEG, r, c), hb, w)).to(scalar("mul_s", where_(mask, a, full_(NEG, r, c), hb, w), s), s > 0.0)),  # where(M, s a, -inf) == s where(M, a, -inf) for s > 0: the scale can join exp
    Rule("skip-dead-chunks-of-max", rule(y == fold_max(reduce("rowmax", XM), t), w == cols(x), w > 0, name="skip-dead-chunks-of-max").then(union(y).with_(fold_max_live(reduce("rowmax", XM), t, mask, hb, w)))),  # max over chunks == max over the chunks where M holds somewhere (the others are all -inf)
    Rule("skip-dead-chunks-of-matmul", rule(y == online_sum(matmul(_p(XM, rm, w2, s), a), reduce("rowmax", XM), s, t), w == cols(x), w > 0, s > 0.0, name="skip-dead-chunks-of-matmul").then(union(y).with_(online_live(matmul(_p(XM, rm, w2, s), a), reduce("rowmax", XM), s, t, mask, hb, w)))),  # sum_c exp(s(x_c - m)) @ a_c over dead chunks adds 0: skip them
    Rule("skip-dead-chunks-of-rowsum", rule(y == online_sum(reduce("rowsum", _p(XM, rm, w2, s)), reduce("rowmax", XM), s, t), w == cols(x), w > 0, s > 0.0, name="skip-dead-chunks-of-rowsum").then(union(y).with_(online_live(reduce("rowsum", _p(XM, rm, w2, s)), reduce("rowmax", XM), s, t, mask, hb, w)))),  # the same for the running row sum
    Rule("skip-dead-chunks-of-tilesum", rule(y == online_sum(tilesum(_p(XM, rm, w2, s)), reduce("rowmax", XM), s, t), w == cols(x), w > 0, s > 0.0, name="skip-dead-chunks-of-tilesum").then(union(y).with_(online_live(tilesum(_p(XM, rm, w2, s)), reduce("rowmax", XM), s, t, mask, hb, w)))),  # the same for the running sum kept as partial tiles
))
