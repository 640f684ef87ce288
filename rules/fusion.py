"""Fusion into one hardware op: two math ops computed by a single Tensix op (a scale folded into exp or into
a reduce's scaler, a transpose folded into matmul's operand, a row sum folded into the packer).

Fusion of whole passes (which values stay in DST between ops) is not a rule: extraction and the scheduler
choose it from the operand locations of these forms (tteqsat.schedule).
"""

from egglog import rewrite

from tteqsat.egraph import (
    exp_scaled,
    hw_exp_scaled,
    hw_matmul,
    hw_reduce,
    hw_tilesum,
    matmul,
    reduce,
    scalar,
    tilesum,
    transpose,
)
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, b, s

RULESET = RuleSet("fusion", "one Tensix op for two math ops: scales into exp and reduce, transpose into matmul, sums into the packer", "hardware", (
    Rule("exp-fused-scale", rewrite(exp_scaled(a, s)).to(hw_exp_scaled(a, s))),  # exp_tile with scale: exp(s*x) in one SFPU pass
    Rule("matmul-transposed-b", rewrite(matmul(a, transpose(b))).to(hw_matmul(a, b, 1))),  # matmul_tiles with transpose=1 reads b.T
    Rule("reduce-sum-fold-scale", rewrite(scalar("mul_s", reduce("rowsum", a), s)).to(hw_reduce("rowsum", a, s))),  # sum(a)*s: the scaler CB holds s
    Rule("reduce-colsum-fold-scale", rewrite(scalar("mul_s", reduce("colsum", a), s)).to(hw_reduce("colsum", a, s))),  # column sums likewise
    Rule("reduce-max-fold-scale", rewrite(scalar("mul_s", reduce("rowmax", a), s)).to(hw_reduce("rowmax", a, s), s > 0.0)),  # max(a)*s == max(a*s) for s > 0
    Rule("tilesum-pack-acc", rewrite(tilesum(a)).to(hw_tilesum(a))),  # pack_tile with pack_reconfig_l1_acc: column tiles summed in L1
))
