"""Pattern variables shared by the rule files."""

from egglog import String, f64, i64, vars_

from tteqsat.egraph import TensorExpr

a, b, c, x, y, v = vars_("a b c x y v", TensorExpr)
s, t = vars_("s t", f64)
n, m, N = vars_("n m N", i64)
op, k = vars_("op k", String)
