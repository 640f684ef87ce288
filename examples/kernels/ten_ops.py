"""Ten ops in one kernel: transpose, matmul, subtract, exp, sqrt, recip, exp, sqrt, recip, exp.

The chain tt-lang's D2M-era flash-attention demonstrator could not compile past ~7 ops.
"""

import tteqsat as tq

DTYPE = "bf16"
q = tq.tensor("q", (64, 64), DTYPE)
k = tq.tensor("k", (64, 64), DTYPE)
m = tq.tensor("m", (64, 64), DTYPE)

s = q @ k.T                      # transpose, matmul
x = tq.exp(s - m)                # subtract, exp
x = tq.recip(tq.sqrt(x))         # sqrt, recip
x = tq.exp(x)                    # exp
x = tq.recip(tq.sqrt(x))         # sqrt, recip
kernel = tq.kernel("ten_ops", tq.exp(x))  # exp
