"""Attention of a 32-row q block against 32768 keys: the score row alone is 2 MB in bf16, so it must stream."""

import tteqsat as tq

DTYPE = "bf16"
q = tq.tensor("q", (32, 64), DTYPE)
k = tq.tensor("k", (32768, 64), DTYPE)
v = tq.tensor("v", (32768, 64), DTYPE)
kernel = tq.kernel("long_attention", tq.softmax(q @ k.T * 0.125, axis=-1) @ v)
