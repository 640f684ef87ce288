"""tteqsat: an equality-saturation optimizer for Tenstorrent Tensix compute kernels.

    import tteqsat as tq
    q = tq.tensor("q", (64, 64)); k = tq.tensor("k", (256, 64)); v = tq.tensor("v", (256, 64))
    res = tq.optimize(tq.kernel("sdpa", tq.softmax(q @ k.T * 0.125) @ v))
    print(res.cost_cycles, res.baseline_cycles); res.verify()
"""

from tteqsat.egraph.saturate import Limits
from tteqsat.errors import KernelError
from tteqsat.frontend.dsl import (
    Tensor,
    abs,
    exp,
    gelu,
    kernel,
    log,
    logsumexp,
    maximum,
    minimum,
    recip,
    relu,
    repeat,
    rsqrt,
    sigmoid,
    silu,
    softmax,
    sqrt,
    take,
    tanh,
    tensor,
    tri,
    where,
)
from tteqsat.frontend.ir import Kernel
from tteqsat.frontend.reference import evaluate
from tteqsat.pipeline import Result, VerificationError, optimize

__all__ = [
    "Kernel", "KernelError", "Limits", "Result", "Tensor", "VerificationError", "abs", "evaluate", "exp", "gelu",
    "kernel", "log", "logsumexp", "maximum", "minimum", "optimize", "recip", "relu", "repeat", "rsqrt", "sigmoid",
    "silu", "softmax", "sqrt", "take", "tanh", "tensor", "tri", "where",
]
__version__ = "0.1.0"
