"""Hardware op forms: each math op is unioned with the Tensix ops that compute it.

The operand positions of an `hw_*` form fix where operands live (see tteqsat.egraph), so extraction
chooses op forms and DST/CB placement together.
"""

from egglog import f64, i64, rewrite, vars_

from tteqsat.egraph import (
    bcast,
    binary,
    full_,
    hw_bcast,
    hw_fpu,
    hw_fpu_bcast,
    hw_mask,
    hw_matmul,
    hw_reduce,
    hw_reuse,
    hw_scalar,
    hw_sfpu,
    hw_sfpu2,
    hw_transpose,
    matmul,
    reduce,
    scalar,
    transpose,
    unary,
    where_,
)
from tteqsat.rules import Rule, RuleSet
from tteqsat.rules.vars import a, b, k, m, n, op, s, v

n2, m2 = vars_("n2 m2", i64)

RULESET = RuleSet("hardware", "Tensix op forms: FPU from CBs, dest reuse, SFPU in DST, matmul/reduce/bcast", "hardware", (
    Rule("fpu-add", rewrite(binary("add", a, b)).to(hw_fpu("add", a, b))),  # add_tiles: both operands unpacked from CBs
    Rule("fpu-sub", rewrite(binary("sub", a, b)).to(hw_fpu("sub", a, b))),  # sub_tiles
    Rule("fpu-mul", rewrite(binary("mul", a, b)).to(hw_fpu("mul", a, b))),  # mul_tiles
    Rule("fpu-add-bcast-cols", rewrite(binary("add", a, bcast("cols", v, n))).to(hw_fpu_bcast("add", a, bcast("cols", v, i64(32)), "cols"), n > i64(32), n % i64(32) == i64(0))),  # a + bcast(v): add_tiles reading one broadcast tile per tile row, the same for every tile column
    Rule("fpu-add-bcast-cols-left", rewrite(binary("add", bcast("cols", v, n), a)).to(hw_fpu_bcast("add", a, bcast("cols", v, i64(32)), "cols"), n > i64(32), n % i64(32) == i64(0))),  # bcast(v) + a == a + bcast(v)
    Rule("fpu-sub-bcast-cols", rewrite(binary("sub", a, bcast("cols", v, n))).to(hw_fpu_bcast("sub", a, bcast("cols", v, i64(32)), "cols"), n > i64(32), n % i64(32) == i64(0))),  # a - bcast(v): sub_tiles, as tt-metal's sub_tiles_bcast_cols
    Rule("fpu-mul-bcast-cols", rewrite(binary("mul", a, bcast("cols", v, n))).to(hw_fpu_bcast("mul", a, bcast("cols", v, i64(32)), "cols"), n > i64(32), n % i64(32) == i64(0))),  # a * bcast(v): mul_tiles, as mul_tiles_bcast_cols
    Rule("fpu-mul-bcast-cols-left", rewrite(binary("mul", bcast("cols", v, n), a)).to(hw_fpu_bcast("mul", a, bcast("cols", v, i64(32)), "cols"), n > i64(32), n % i64(32) == i64(0))),  # bcast(v) * a == a * bcast(v)
    Rule("fpu-add-bcast-rows", rewrite(binary("add", a, bcast("rows", v, n))).to(hw_fpu_bcast("add", a, bcast("rows", v, i64(32)), "rows"), n > i64(32), n % i64(32) == i64(0))),  # a + bcast_rows(v): one broadcast tile per tile column, the same for every tile row
    Rule("fpu-sub-bcast-rows", rewrite(binary("sub", a, bcast("rows", v, n))).to(hw_fpu_bcast("sub", a, bcast("rows", v, i64(32)), "rows"), n > i64(32), n % i64(32) == i64(0))),  # a - bcast_rows(v)
    Rule("fpu-mul-bcast-rows", rewrite(binary("mul", a, bcast("rows", v, n))).to(hw_fpu_bcast("mul", a, bcast("rows", v, i64(32)), "rows"), n > i64(32), n % i64(32) == i64(0))),  # a * bcast_rows(v)
    Rule("reuse-add-srca", rewrite(binary("add", a, b)).to(hw_reuse("add", a, b, "srca"))),  # binary_dest_reuse: a in DST, b from a CB
    Rule("reuse-add-srcb", rewrite(binary("add", a, b)).to(hw_reuse("add", b, a, "srcb"))),  # b in DST, a from a CB
    Rule("reuse-sub-srca", rewrite(binary("sub", a, b)).to(hw_reuse("sub", a, b, "srca"))),  # DST - CB
    Rule("reuse-sub-srcb", rewrite(binary("sub", a, b)).to(hw_reuse("sub", b, a, "srcb"))),  # CB - DST
    Rule("reuse-mul-srca", rewrite(binary("mul", a, b)).to(hw_reuse("mul", a, b, "srca"))),  # DST * CB
    Rule("reuse-mul-srcb", rewrite(binary("mul", a, b)).to(hw_reuse("mul", b, a, "srcb"))),  # CB * DST
    Rule("sfpu-binary", rewrite(binary(op, a, b)).to(hw_sfpu2(op, a, b))),  # add/sub/mul/div/max/min_binary_tile: both in DST
    Rule("sfpu-unary", rewrite(unary(op, a)).to(hw_sfpu(op, a))),  # exp/recip/sqrt/... _tile in place on DST
    Rule("sfpu-scalar", rewrite(scalar(op, a, s)).to(hw_scalar(op, a, s))),  # binop_with_scalar: add/mul_unary_tile
    Rule("matmul-fpu", rewrite(matmul(a, b)).to(hw_matmul(a, b, 0))),  # matmul_tiles accumulating over K in DST
    Rule("transpose-fpu", rewrite(transpose(a)).to(hw_transpose(a))),  # transpose_wh_tile from a CB
    Rule("reduce-fpu", rewrite(reduce(op, a)).to(hw_reduce(op, a, 1.0))),  # reduce_tile with a scaler CB of ones
    Rule("bcast-unpack", rewrite(bcast(k, v, n)).to(hw_bcast(k, v, n))),  # unary_bcast from a CB into DST
    Rule("mask-to-neg-inf", rewrite(where_(k, a, full_(f64(float("-inf")), n, m), n2, m2)).to(hw_mask(k, a, f64(float("-inf")), n2, m2))),  # where(M, a, -inf) == a + (0 where M, -inf elsewhere): a bias tile built in the kernel
    Rule("mask-to-zero", rewrite(where_(k, a, full_(0.0, n, m), n2, m2)).to(hw_mask(k, a, 0.0, n2, m2))),  # where(M, a, 0) == a * (1 where M, 0 elsewhere)
))
