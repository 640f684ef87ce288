"""Streaming: reductions and contractions over long rows become folds over chunks, and folds whose
bodies depend on a fold's final max become one online fold with a correction factor.

Chunk widths come from the `chunk_width` relation, so the chunk size is a choice extraction makes.
"""

from egglog import i64, rewrite, rule, union, vars_

from tteqsat.egraph import (
    TensorExpr,
    bcast,
    binary,
    chunk_width,
    cols,
    combine_parts,
    exp_scaled,
    fold_max,
    fold_sum,
    kchunk,
    key_parts,
    matmul,
    online_sum,
    part_fold,
    part_max,
    rchunk,
    reduce,
    running_max,
    scalar,
    tilesum,
    transpose,
    unary,
    unmasked,
    whole,
)
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import N, a, b, n, op, s, x, y

w, t, p = vars_("w t p", i64)
e, M = vars_("e M", TensorExpr)


def _P(xx, mm, ww, ss):  # the shifted exponential of one chunk
    return exp_scaled(binary("sub", xx, bcast("cols", mm, ww)), ss)


def _parts(body, mbody, ss, tt, pp):  # an online fold as pp partial folds, each with its own max, rescaled together
    return combine_parts(part_fold(body, mbody, ss, tt, pp), part_max(mbody, tt, pp), ss, pp)


RULESET = RuleSet("streaming", "chunk long reductions and contractions into folds; fuse folds into one online pass", "grow", (
    Rule("exp-is-scaled-by-one", rewrite(unary("exp", a)).to(exp_scaled(a, 1.0))),  # exp(a) == exp_scaled(a, 1)
    Rule("rowmax-over-chunks", rule(e == reduce("rowmax", a), whole(a), N == cols(a), chunk_width(w), w < N, N % w == i64(0), name="rowmax-over-chunks").then(union(e).with_(fold_max(reduce("rowmax", kchunk(a, w)), N / w)))),  # rowmax(a) == max over chunks of rowmax(chunk)
    Rule("rowsum-over-chunks", rule(e == reduce("rowsum", a), whole(a), N == cols(a), chunk_width(w), w < N, N % w == i64(0), name="rowsum-over-chunks").then(union(e).with_(fold_sum(reduce("rowsum", kchunk(a, w)), N / w)))),  # rowsum(a) == sum over chunks of rowsum(chunk)
    Rule("matmul-over-chunks", rule(e == matmul(a, b), whole(a), whole(b), N == cols(a), chunk_width(w), w < N, N % w == i64(0), name="matmul-over-chunks").then(union(e).with_(fold_sum(matmul(kchunk(a, w), rchunk(b, w)), N / w)))),  # a @ b == sum over chunks of a[:, c] @ b[c, :]
    Rule("chunk-of-binary", rewrite(kchunk(binary(op, a, b), w)).to(binary(op, kchunk(a, w), kchunk(b, w)))),  # chunk(a op b) == chunk(a) op chunk(b)
    Rule("chunk-of-unary", rewrite(kchunk(unary(op, a), w)).to(unary(op, kchunk(a, w)))),  # chunk(f(a)) == f(chunk(a))
    Rule("chunk-of-scalar", rewrite(kchunk(scalar(op, a, s), w)).to(scalar(op, kchunk(a, w), s))),  # chunk(a op s) == chunk(a) op s
    Rule("chunk-of-exp-scaled", rewrite(kchunk(exp_scaled(a, s), w)).to(exp_scaled(kchunk(a, w), s))),  # chunk(exp(s a)) == exp(s chunk(a))
    Rule("chunk-of-row-bcast", rewrite(kchunk(bcast("cols", a, n), w)).to(bcast("cols", a, w))),  # a column chunk of a per-row broadcast is the narrower broadcast
    Rule("chunk-of-col-bcast", rewrite(kchunk(bcast("rows", a, n), w)).to(bcast("rows", kchunk(a, w), n))),  # a column chunk of a per-column broadcast (a key bias) broadcasts the vector's chunk
    Rule("chunk-of-matmul", rewrite(kchunk(matmul(a, b), w)).to(matmul(a, kchunk(b, w)))),  # (a @ b)[:, c] == a @ b[:, c]
    Rule("chunk-of-transpose", rewrite(kchunk(transpose(a), w)).to(transpose(rchunk(a, w)))),  # (a.T)[:, c] == (a[c, :]).T
    Rule("row-chunk-of-transpose", rewrite(rchunk(transpose(a), w)).to(transpose(kchunk(a, w)))),  # (a.T)[c, :] == (a[:, c]).T
    Rule("online-matmul", rule(e == fold_sum(matmul(_P(x, M, w, s), y), t), M == fold_max(reduce("rowmax", x), t), s > 0.0, name="online-matmul").then(union(e).with_(online_sum(matmul(_P(x, running_max(reduce("rowmax", x), t), w, s), y), reduce("rowmax", x), s, t)))),  # sum_c exp(s(x_c - M)) @ y_c == online: rescale by exp(s(m_old - m_new)) as the max grows
    Rule("online-rowsum", rule(e == fold_sum(reduce("rowsum", _P(x, M, w, s)), t), M == fold_max(reduce("rowmax", x), t), s > 0.0, name="online-rowsum").then(union(e).with_(online_sum(reduce("rowsum", _P(x, running_max(reduce("rowmax", x), t), w, s)), reduce("rowmax", x), s, t)))),  # sum_c rowsum(exp(s(x_c - M))) == the same online rescaled sum
    Rule("online-matmul-over-parts", rule(e == online_sum(matmul(_P(x, running_max(reduce("rowmax", x), t), w, s), y), reduce("rowmax", x), s, t), key_parts(p), t % p == i64(0), unmasked(x), unmasked(y), name="online-matmul-over-parts").then(union(e).with_(_parts(matmul(_P(x, running_max(reduce("rowmax", x), t), w, s), y), reduce("rowmax", x), s, t, p)))),  # online sum over t chunks == sum over p parts of exp(s(m_q - max_q m_q)) * part q's own online sum at its own max m_q
    Rule("online-rowsum-over-parts", rule(e == online_sum(reduce("rowsum", _P(x, running_max(reduce("rowmax", x), t), w, s)), reduce("rowmax", x), s, t), key_parts(p), t % p == i64(0), unmasked(x), name="online-rowsum-over-parts").then(union(e).with_(_parts(reduce("rowsum", _P(x, running_max(reduce("rowmax", x), t), w, s)), reduce("rowmax", x), s, t, p)))),  # the online row sum over p parts, each at its own max, rescaled to the largest
    Rule("online-rowsum-partial", rule(e == online_sum(reduce("rowsum", a), M, s, t), N == cols(a), N > 32, s > 0.0, name="online-rowsum-partial").then(union(e).with_(reduce("rowsum", online_sum(tilesum(a), M, s, t))))),  # the running sum kept as partial tiles, its within-tile sum deferred past the loop
))
