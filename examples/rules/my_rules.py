"""My rules: one math identity and one hardware op form (docs/writing-rules.md walks through them)."""

from egglog import rewrite, vars_

from tteqsat import rules
from tteqsat.egraph import TensorExpr, binary, hw_scalar, unary

a, b = vars_("a b", TensorExpr)  # pattern variables: any tensor value in the e-graph

RULESET = rules.RuleSet("my_rules", "one exp for a product of exps; doubling as an SFPU scale", "grow", (
    # math identity: exp(a) * exp(b) == exp(a + b); two SFPU exps become one exp and an add
    rules.Rule("exp-product",
               rewrite(binary("mul", unary("exp", a), unary("exp", b))).to(unary("exp", binary("add", a, b)))),
    # hardware op form: a + a computed in DST as a * 2 (binop_with_scalar), no second operand to unpack
    rules.Rule("double-as-scale", rewrite(binary("add", a, a)).to(hw_scalar("mul_s", a, 2.0))),
))
