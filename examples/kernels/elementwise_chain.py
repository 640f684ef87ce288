"""A 30-op elementwise chain over four inputs, with values used more than once."""

import tteqsat as tq

DTYPE = "bf16"
a = tq.tensor("a", (64, 128), DTYPE)
b = tq.tensor("b", (64, 128), DTYPE)
c = tq.tensor("c", (64, 128), DTYPE)
d = tq.tensor("d", (64, 128), DTYPE)

ab = a * b                                   # 1
cd = c - d                                   # 2
t = tq.tanh(ab + cd)                         # 3, 4
u = tq.sigmoid(ab) * t                       # 5, 6
w = tq.exp(-tq.abs(cd))                      # 7, 8, 9
v = u * w + t                                # 10, 11
r = tq.relu(v - a) + tq.relu(b - v)          # 12, 13, 14, 15, 16
g = tq.gelu(r * 0.5) + tq.silu(cd)           # 17, 18, 19, 20
h = tq.maximum(g, u) - tq.minimum(w, t)      # 21, 22, 23
n = h * h + ab                               # 24, 25
o = tq.sqrt(tq.abs(n) + 1.0) * tq.rsqrt(w + 1.0)  # 26, 27, 28, 29, 30
kernel = tq.kernel("elementwise_chain", o / (w + 2.0))  # 31, 32
