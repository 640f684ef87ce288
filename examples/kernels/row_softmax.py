"""Row max and row sum mixed with elementwise ops; `x - x.max(axis=-1)` has two users."""

import tteqsat as tq

DTYPE = "bf16"
x = tq.tensor("x", (64, 256), DTYPE)
gain = tq.tensor("gain", (1, 256), DTYPE)

shifted = x - x.max(axis=-1)              # used by exp and by the residual below
e = tq.exp(shifted)
p = e / e.sum(axis=-1)
y = p * gain + shifted * 0.01              # mul, mul by scalar, add
kernel = tq.kernel("row_softmax", tq.sigmoid(y) - p)
