"""Twelve results of one shared value: fused naively they would hold 13 DST tiles at once, more than DST has."""

import tteqsat as tq

DTYPE = "bf16"
x = tq.tensor("x", (64, 64), DTYPE)
z = tq.exp(x)                     # one value, twelve users in the same section
outputs = {f"y{i}": tq.sigmoid(z * (0.25 * (i + 1))) for i in range(12)}
kernel = tq.kernel("dst_pressure", outputs)
