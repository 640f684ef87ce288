"""Complete attention: softmax(q @ k.T * scale) @ v, two matmuls and a row softmax in one kernel."""

import tteqsat as tq

DTYPE = "bf16"
q = tq.tensor("q", (64, 64), DTYPE)
k = tq.tensor("k", (256, 64), DTYPE)
v = tq.tensor("v", (256, 64), DTYPE)
kernel = tq.kernel("attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)
