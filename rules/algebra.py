"""Elementwise algebra: identities that trade expensive SFPU work for cheaper forms."""

from egglog import rewrite

from tteqsat.egraph import binary, exp_scaled, matmul, scalar, transpose, unary
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, b, c, s, t

FP32_MAX = 3.4028234663852886e38  # the largest float32

RULESET = RuleSet("algebra", "elementwise identities: reciprocals, fused scales, scalar folding", "grow", (
    Rule("div-to-recip-mul", rewrite(binary("div", a, b)).to(binary("mul", a, unary("recip", b)))),  # a / b == a * recip(b)
    Rule("recip-sqrt-to-rsqrt", rewrite(unary("recip", unary("sqrt", a))).to(unary("rsqrt", a))),  # 1 / sqrt(a) == rsqrt(a)
    Rule("neg-neg", rewrite(unary("neg", unary("neg", a))).to(a)),  # -(-a) == a
    Rule("transpose-transpose", rewrite(transpose(transpose(a))).to(a)),  # (a.T).T == a
    Rule("scale-scale", rewrite(scalar("mul_s", scalar("mul_s", a, s), t)).to(scalar("mul_s", a, s * t), s * t <= FP32_MAX, s * t >= -FP32_MAX)),  # (a*s)*t == a*(s*t) while s*t is an fp32 number (the kernel holds scales as fp32)
    Rule("scale-one", rewrite(scalar("mul_s", a, 1.0)).to(a)),  # a*1 == a
    Rule("exp-of-scaled", rewrite(unary("exp", scalar("mul_s", a, s))).to(exp_scaled(a, s))),  # exp(a*s) == exp_scaled(a, s)
    Rule("scale-sub", rewrite(binary("sub", scalar("mul_s", a, s), scalar("mul_s", b, s))).to(scalar("mul_s", binary("sub", a, b), s))),  # a*s - b*s == (a-b)*s
    Rule("scale-into-matmul-lhs", rewrite(scalar("mul_s", matmul(a, b), s)).to(matmul(scalar("mul_s", a, s), b))),  # (a@b)*s == (a*s)@b
    Rule("scale-out-of-matmul-lhs", rewrite(matmul(scalar("mul_s", a, s), b)).to(scalar("mul_s", matmul(a, b), s))),  # (a*s)@b == (a@b)*s
    Rule("matmul-assoc-right", rewrite(matmul(matmul(a, b), c)).to(matmul(a, matmul(b, c)))),  # (a@b)@c == a@(b@c)
    Rule("matmul-assoc-left", rewrite(matmul(a, matmul(b, c))).to(matmul(matmul(a, b), c))),  # a@(b@c) == (a@b)@c
))
