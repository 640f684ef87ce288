"""Two matmuls in one kernel: the first result is packed to a CB the second one reads."""

import tteqsat as tq

DTYPE = "bf16"
a = tq.tensor("a", (64, 96), DTYPE)
b = tq.tensor("b", (96, 128), DTYPE)
c = tq.tensor("c", (128, 64), DTYPE)
kernel = tq.kernel("two_matmuls", (a @ b) @ c)
