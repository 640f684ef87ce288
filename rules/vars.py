"""Pattern variables shared by the rule files."""

from egglog import String, f64, i64, vars_

from tteqsat.egraph import TensorExpr

a, b, c, x, y, v = vars_("a b c x y v", TensorExpr)
s, t = vars_("s t", f64)
n, m = vars_("n m", i64)
op, k = vars_("op k", String)
