"""Hypothesis strategies for fuzz kernels over the whole DSL (needs the `hypothesis` package, a dev extra).

A kernel grows from a few inputs, one op at a time, each op drawn with operands from the values made so
far: every function, operators with tensors, row and column vectors (broadcast both ways) and scalars on
either side, matmul with a fresh, existing or transposed right operand, transposes, max/sum/mean on both
axes (over a vector's length-1 axis too), softmax, attention and logsumexp over long rows; one to three
outputs; input names that look like the optimizer's own (x0, state, acc0, ...); axes long enough that
streaming can be chosen; both dtypes, both archs, every form, now and then a saturation cut short by its
iteration limit, and one bf16 kernel in eight with 32-bit DST (`settings.fp32_dest_acc`). Masks (`tq.tri` with
any diagonal, windows, complements, unions) select with `tq.where`
from a value and a scalar or a second tensor: a -inf fill only inside a softmax along the masked axis or a max
that keeps a live element on every line (never -inf in an output), and masked attention over long keys, so
chunk skipping and the ragged diagonal are drawn; masks that leave a whole row with no live key are drawn too
(numpy's NaN there is what the kernel must give, see `tools.fuzz`). One case in twelve plants a mistake the DSL
must reject. Lists are ordered simplest first, so Hypothesis shrinks towards small fp32 kernels on Wormhole in
the auto form.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tteqsat.tools import fuzzcase as fc
from tteqsat.tools.fuzzcase import Case, Expr

# names a user may pick that the optimizer also uses inside (loop exports, states, chunk leaves, CBs)
INPUT_NAMES = ("a", "b", "x0", "x1", "x2", "x3", "state", "acc0", "m0", "export", "pre", "cb0", "k", "v",
               "q", "c", "d", "e")
OUTPUT_NAMES = ("o", "out", "y", "x5", "m1", "state0", "acc1", "r")
SCALARS = (0.5, 2.0, -1.0, 1.0, 0.125, -3.0, 0.0, 0.0884, 3.0)  # 1/sqrt(128) and 3: not powers of two
ROWS = (32, 64, 96)
COLS = (32, 64, 96)
LONG = (256, 160)  # long enough to stream: 256 in 128-wide chunks, 160 in 1-tile ones
EXP_MAX = 8.0         # exp only of values at most this (no overflow, moderate growth)
MAGNITUDE = 1.0e4     # no value bound beyond this: keeps rounding error within the tolerances
OP_KINDS = ("unary", "binary", "scalar", "reduce", "matmul", "softmax", "T", "vector", "attention", "logsumexp",
            "masked", "masked-attention")
MASK_KINDS = ("masked", "masked-attention")
FLAWS = ("shape", "matmul", "zero-divide", "axis", "softmax-axis", "input-shape", "output-input",
         "duplicate-input", "output-name", "output-identifier", "mask-shape", "where-condition", "where-scalars")
MASK_FLAWS = ("mask-shape", "where-condition", "where-scalars")
FILLS = (-1.0, 0.5, 3.0, -30.0, 0.0)  # finite fills of where (a -inf one is drawn only where it is safe)
MASK_ROWS = (64, 128, 256)  # query rows of masked attention: several row blocks, so chunks are skipped per block
MASK_KEYS = (256, 512, 160)  # long keys: 512 in chunks wider than a tile row's diagonal (the ragged path)


@st.composite
def masks(draw, shape: tuple[int, int], depth: int = 2) -> fc.MaskSpec:
    """A mask over `shape`: tri with a diagonal anywhere from above the first row to past the last column
    (negative ones leave the first rows with no live column), a sliding window tri & ~tri(k - W), a complement,
    or a union or intersection of two."""
    n, m = shape
    kind = draw(st.sampled_from(("tri", "window", "not", "or", "and") if depth > 0 else ("tri",)))
    k = draw(st.integers(-n - 8, m + 8) | st.sampled_from((0, -1, 1, -32, 33)))
    if kind == "tri":
        return fc.tri(shape, k)
    if kind == "window":
        width = draw(st.integers(1, max(1, m)) | st.sampled_from((32, 96, 100)))
        return fc.mask_and(fc.tri(shape, k), fc.mask_not(fc.tri(shape, k - width)))
    if kind == "not":
        return fc.mask_not(draw(masks(shape, depth - 1)))
    a, b = draw(masks(shape, depth - 1)), draw(masks(shape, depth - 1))
    return fc.mask_or(a, b) if kind == "or" else fc.mask_and(a, b)


class _Names:
    def __init__(self, draw) -> None:
        self.draw = draw
        self.used: set[str] = set()

    def fresh(self) -> str:
        free = [n for n in INPUT_NAMES if n not in self.used]
        name = self.draw(st.sampled_from(free)) if free else f"in{len(self.used)}"
        self.used.add(name)
        return name


def _positive(draw, names: _Names, pool: list[Expr], inputs: list[Expr], x: Expr) -> Expr:
    """`x` if it is provably positive, else abs(x) + c or a fresh positive input of its shape."""
    if x.lo >= 0.25:
        return x
    if draw(st.booleans()):
        c = draw(st.sampled_from((0.5, 1.0)))
        return _keep(pool, fc.scalar("+", _keep(pool, fc.unary("abs", x)), c))
    fresh = fc.tensor(names.fresh(), x.shape, positive=True)
    inputs.append(fresh)
    return fresh


def _keep(pool: list[Expr], e: Expr) -> Expr:
    pool.append(e)
    return e


def _bounded(e: Expr) -> bool:
    return max(abs(e.lo), abs(e.hi)) <= MAGNITUDE


def _partner(draw, names: _Names, pool: list[Expr], inputs: list[Expr], a: Expr, positive: bool) -> Expr:
    """A second operand for `a`: an existing value that broadcasts with it, or a fresh input of the same
    shape, a column or a row vector (or, when `a` is a vector, the matrix it broadcasts into)."""
    r, c = a.shape
    fits = [e for e in pool if fc.broadcast_shape(a.shape, e.shape) is not None and e is not a]
    kind = draw(st.sampled_from(("existing", "same", "column", "row", "outer")))
    if kind == "existing" and fits:
        return draw(st.sampled_from(fits))
    shapes = {"same": (r, c), "column": (r, 1), "row": (1, c)}
    if kind == "outer" or kind == "existing":
        if c == 1 and r > 1:
            shape = (1, draw(st.sampled_from(COLS[:3])))   # a column with a row: the outer broadcast
        elif r == 1 and c > 1:
            shape = (draw(st.sampled_from(ROWS)), c)       # a row into a matrix
        else:
            shape = (r, c)
    else:
        shape = shapes[kind]
    if shape == (1, 1) or fc.broadcast_shape(a.shape, shape) is None:
        shape = (r, c)
    fresh = fc.tensor(names.fresh(), shape, positive)
    inputs.append(fresh)
    return fresh


def _op(draw, names: _Names, pool: list[Expr], inputs: list[Expr], kind: str | None = None,
        mask_sizes: tuple[tuple[int, ...], tuple[int, ...]] = (MASK_ROWS, MASK_KEYS),
        kinds: tuple[str, ...] = OP_KINDS) -> Expr | None:
    kind = kind or draw(st.sampled_from(kinds))
    a = draw(st.sampled_from(pool[::-1]))  # the latest value first: chains grow deep
    if kind == "unary":
        fn = draw(st.sampled_from(fc.UNARY_FNS))
        if fn in fc.NEEDS_POSITIVE or fn == "sqrt":
            a = _positive(draw, names, pool, inputs, a)
        if fn == "exp" and a.hi > EXP_MAX:
            a = _keep(pool, fc.unary("tanh", a))
        return fc.unary(fn, a)
    if kind == "binary":
        op = draw(st.sampled_from(fc.BINARY_OPS))
        b = _partner(draw, names, pool, inputs, a, positive=op == "/")
        if draw(st.booleans()):
            a, b = b, a
        if op == "/":
            b = _positive(draw, names, pool, inputs, b)
        return fc.binary(op, a, b)
    if kind == "scalar":
        op = draw(st.sampled_from(fc.SCALAR_OPS))
        s = draw(st.sampled_from(SCALARS))
        reflected = draw(st.booleans())
        if op == "/" and reflected:
            a = _positive(draw, names, pool, inputs, a)
        if op == "/" and not reflected and s == 0.0:
            s = 4.0
        return fc.scalar(op, a, s, reflected)
    if kind == "reduce":
        return fc.reduce(draw(st.sampled_from(fc.REDUCE_KINDS)), a, draw(st.sampled_from((-1, 0, 1, -2))))
    if kind == "softmax":  # over rows (one node) or columns (written out by the front end)
        return fc.softmax(a, draw(st.sampled_from((-1, 1, -2, 0))))
    if kind == "T":
        return fc.transpose(a)
    if kind == "vector":  # an op whose other operand is a vector of a's rows or columns
        r, c = a.shape
        shape = draw(st.sampled_from(((r, 1), (1, c))))
        if shape == (1, 1) or shape == a.shape:
            return None
        op = draw(st.sampled_from(("+", "*", "-", "maximum")))
        v = fc.tensor(names.fresh(), shape, positive=False)
        inputs.append(v)
        return fc.binary(op, v, a) if draw(st.booleans()) else fc.binary(op, a, v)
    if kind == "attention":  # softmax(a @ k.T * s) @ v over long keys: the online-softmax streaming pattern
        if any(d % fc.TILE for d in a.shape):
            return None
        keys = draw(st.sampled_from(LONG + COLS[:1]))
        k = fc.tensor(names.fresh(), (keys, a.shape[1]), positive=False)
        v = fc.tensor(names.fresh(), (keys, draw(st.sampled_from(ROWS[:2]))), positive=False)
        inputs.extend((k, v))
        scores = _keep(pool, fc.scalar("*", _keep(pool, fc.matmul(a, _keep(pool, fc.transpose(k)))),
                                       draw(st.sampled_from((0.125, 0.5)))))
        if not _bounded(scores) or scores.hi > 50:
            return None
        return fc.matmul(_keep(pool, fc.softmax(scores)), v)
    if kind == "masked":
        return _masked(draw, names, pool, inputs, a)
    if kind == "masked-attention":
        return _masked_attention(draw, names, pool, inputs, a, mask_sizes)
    if kind == "logsumexp":  # max + log(sum(exp(a - max))) along rows
        m = _keep(pool, fc.reduce("max", a, -1))
        if a.hi - a.lo > EXP_MAX * 4:
            return None
        shifted = _keep(pool, fc.unary("exp", _keep(pool, fc.binary("-", a, m))))
        return fc.binary("+", _keep(pool, fc.unary("log", _keep(pool, fc.reduce("sum", shifted, -1)))), m)
    # matmul: a's columns are the contraction; a fresh right operand, or an existing one that fits
    if any(d % fc.TILE for d in a.shape):
        return None
    rights = [e for e in pool if e.shape[0] == a.shape[1] and e.shape[1] % fc.TILE == 0]
    source = draw(st.sampled_from(("fresh", "existing", "transposed")))
    if source == "existing" and rights:
        b = draw(st.sampled_from(rights))
    elif source == "transposed":  # a @ k.T: matmul reads k transposed, tile column by tile column
        k = fc.tensor(names.fresh(), (draw(st.sampled_from(ROWS[:2])), a.shape[1]), positive=False)
        inputs.append(k)
        b = _keep(pool, fc.transpose(k))
    else:
        b = fc.tensor(names.fresh(), (a.shape[1], draw(st.sampled_from(ROWS[:2]))), positive=False)
        inputs.append(b)
    return fc.matmul(a, b)


def _masked(draw, names: _Names, pool: list[Expr], inputs: list[Expr], a: Expr) -> Expr | None:
    """where(mask, a, fill) or where(mask, fill, a) with a finite fill, where(mask, a, b) with a second tensor,
    or -inf filled: inside a softmax along either axis, or a max along an axis where every line keeps an
    element of `a` (a max over a line that is -inf throughout would leave -inf in the output)."""
    mask = draw(masks(a.shape))
    supported = ("zero", "softmax", "max")  # fill and tensors have no hardware form yet: drawn less often
    use = draw(st.sampled_from(supported * 3 + ("fill", "tensors")))
    if use == "zero":
        return fc.where(mask, "ts", (a,), 0.0)
    if use == "fill":  # no hardware form yet: an expected failure in tools.fuzz until there is one
        return fc.where(mask, draw(st.sampled_from(("ts", "st"))), (a,), draw(st.sampled_from(FILLS)))
    if use == "tensors":
        b = _partner(draw, names, pool, inputs, a, positive=False)
        if b.shape not in (a.shape, (a.shape[0], 1), (1, a.shape[1])):
            return None
        return fc.where(mask, "tt", (a, b) if draw(st.booleans()) else (b, a))
    axis = draw(st.sampled_from((-1, 0)))
    masked = fc.where(mask, "ts", (a,), -np.inf)  # not kept in the pool: nothing else sees its -inf
    if use == "softmax":
        return fc.softmax(masked, axis)
    if masked.empty_lines(axis):
        return None
    return fc.reduce("max", masked, axis)


def _masked_attention(draw, names: _Names, pool: list[Expr], inputs: list[Expr], a: Expr,
                      sizes: tuple[tuple[int, ...], tuple[int, ...]]) -> Expr | None:
    """softmax(where(mask, q @ k.T * c, -inf)) @ v over long keys, q the latest value or a fresh input of more
    rows (several row blocks, so chunk skipping and the ragged diagonal have something to skip); `sizes` are
    the fresh q's rows and the keys to draw from."""
    if a.shape[0] > 1 and not any(d % fc.TILE for d in a.shape) and draw(st.booleans()):
        q = a
    else:
        q = fc.tensor(names.fresh(), (draw(st.sampled_from(sizes[0])), draw(st.sampled_from((32, 64)))), False)
        inputs.append(q)
    keys = draw(st.sampled_from(sizes[1]))
    k = fc.tensor(names.fresh(), (keys, q.shape[1]), positive=False)
    v = fc.tensor(names.fresh(), (keys, draw(st.sampled_from(ROWS[:2]))), positive=False)
    inputs.extend((k, v))
    scores = fc.scalar("*", _keep(pool, fc.matmul(q, _keep(pool, fc.transpose(k)))),
                       draw(st.sampled_from((0.125, 0.0884))))
    if not _bounded(scores) or scores.hi > 50:
        return None
    mask = draw(masks(scores.shape))
    return fc.matmul(fc.softmax(fc.where(mask, "ts", (scores,), -np.inf)), v)


@st.composite
def cases(draw, max_ops: int = 6, flaws: bool = True, mask_sizes: tuple[tuple[int, ...], tuple[int, ...]] = (
        MASK_ROWS, MASK_KEYS), masks: bool = True) -> Case:
    """A fuzz case: a valid kernel, or (when `flaws`, one time in twelve) one with a planted mistake.
    `mask_sizes`: the query rows and keys masked attention draws (smaller ones keep a CI run short); without
    `masks`, no masks at all (the draws are then the ones from before masks were added)."""
    kinds = OP_KINDS if masks else tuple(k for k in OP_KINDS if k not in MASK_KINDS)
    flaw_kinds = FLAWS if masks else tuple(f for f in FLAWS if f not in MASK_FLAWS)
    dtype = draw(st.sampled_from(("fp32", "bf16")))
    arch = draw(st.sampled_from(("wormhole_b0", "blackhole")))
    form = draw(st.sampled_from(("auto", "fused", "baseline", "streaming")))
    names = _Names(draw)
    rows = draw(st.sampled_from(ROWS))
    cols = draw(st.sampled_from(LONG if draw(st.booleans()) else COLS))
    first_shape = draw(st.sampled_from(((rows, cols), (rows, 1), (1, cols))))
    inputs = [fc.tensor(names.fresh(), first_shape, positive=draw(st.booleans()))]
    pool: list[Expr] = list(inputs)
    made: list[Expr] = []
    # a long row reduced or contracted first, so a fold exists and streaming can be chosen or forced
    long_matrix = first_shape == (rows, cols) and cols in LONG
    first = draw(st.sampled_from(("reduce", "matmul", "softmax"))) if long_matrix else None
    for n in range(draw(st.integers(2, max_ops))):
        e = _op(draw, names, pool, inputs, first if n == 0 else None, mask_sizes, kinds)
        if e is None or not _bounded(e):
            continue
        pool.extend(x for x in inputs if x not in pool)
        if not e.nan:  # a value that may hold NaN is an output only: later ops would meet NaN semantics of their own
            pool.append(e)
        made.append(e)
    if not made:
        made.append(fc.unary("exp", fc.unary("tanh", inputs[0])))
    chosen = [made[-1]]
    for _ in range(draw(st.integers(1, 3)) - 1):
        others = [e for e in made[::-1] if all(e is not c for c in chosen)]
        if others:
            chosen.append(draw(st.sampled_from(others)))
    out_names: list[str] = []
    for _ in chosen:
        free = [n for n in OUTPUT_NAMES if n not in out_names and n not in names.used]
        out_names.append(draw(st.sampled_from(free)))
    outputs = tuple(zip(out_names, chosen, strict=True))
    flaw = ""
    if flaws and draw(st.integers(0, 11)) == 0:
        flaw = draw(st.sampled_from(flaw_kinds))
        inputs, outputs = _plant(draw, flaw, inputs, outputs, names)
    if form in ("auto", "fused") and _masks_scores(outputs):
        form = draw(st.sampled_from((form, "streaming")))  # masked attention streams (and skips) more often
    positive = frozenset(i.fn for i in inputs if i.lo > 0)
    iterations = draw(st.sampled_from((None, None, None, 2, 0)))  # sometimes the best after a cut-short saturation
    # one bf16 kernel in eight with 32-bit DST (`--set settings.fp32_dest_acc=true`): half the DST tiles, TF32
    # sources, no L1-accumulated sums (drawn last, so the kernels drawn before this setting existed are unchanged)
    wide = dtype == "bf16" and draw(st.integers(0, 7)) == 0
    overrides = (("settings.fp32_dest_acc", True),) if wide else ()
    return Case(tuple(inputs), outputs, dtype, arch, form, 0, positive, flaw, iterations, overrides)


def _masks_scores(outputs) -> bool:
    """Whether a where masks scores (a scaled matmul): masked attention, which chunk skipping applies to."""
    return any(e.op == "where" and e.args and e.args[0].op == "scalar" and e.args[0].args[0].op == "matmul"
               for e in fc.nodes(Case((), outputs)))


def _plant(draw, flaw: str, inputs: list[Expr], outputs, names: _Names):
    """One mistake the DSL must reject, added to a valid kernel."""
    name, out = outputs[0]
    r, c = out.shape
    if flaw == "shape":
        other = fc.tensor(names.fresh(), (r + fc.TILE if r > 1 else 2 * fc.TILE, c + fc.TILE), False)
        return [*inputs, other], ((name, fc.binary("+", out, other)), *outputs[1:])
    if flaw == "matmul":
        other = fc.tensor(names.fresh(), (c + fc.TILE if c > 1 else fc.TILE, fc.TILE), False)
        return [*inputs, other], ((name, fc.matmul(out, other)), *outputs[1:])
    if flaw == "zero-divide":
        return inputs, ((name, fc.scalar("/", out, 0.0)), *outputs[1:])
    if flaw == "axis":
        return inputs, ((name, fc.reduce("sum", out, draw(st.sampled_from((2, -3))))), *outputs[1:])
    if flaw == "softmax-axis":
        return inputs, ((name, fc.softmax(out, axis=draw(st.sampled_from((2, -3))))), *outputs[1:])
    if flaw == "input-shape":
        bad = fc.tensor(names.fresh(), draw(st.sampled_from(((33, 32), (2, 2), (32, 48)))), False)
        return [*inputs, bad], ((name, fc.binary("+", out, bad)), *outputs[1:])
    if flaw == "output-input":
        return inputs, ((name, inputs[0]), *outputs[1:])
    if flaw == "duplicate-input":
        twin = fc.tensor(inputs[0].fn, out.shape, False)
        return [*inputs, twin], ((name, fc.binary("+", out, twin)), *outputs[1:])
    if flaw == "mask-shape":  # a mask taller than the value it selects from
        wrong = draw(masks((r + fc.TILE, c + fc.TILE), depth=0))
        return inputs, ((name, fc.where(wrong, "ts", (out,), 0.0)), *outputs[1:])
    if flaw == "where-condition":  # a tensor where a mask belongs
        cond = fc.tensor(names.fresh(), out.shape, False)
        return [*inputs, cond], ((name, fc.binary("+", out, fc.where(None, "ts", (out, cond), 0.0))), *outputs[1:])
    if flaw == "where-scalars":
        return inputs, ((name, fc.binary("+", out, fc.where(draw(masks(out.shape, 0)), "ss", (), 0.0))),
                        *outputs[1:])
    if flaw == "output-identifier":
        return inputs, ((draw(st.sampled_from(("o:x", "a b", "", 'q"'))), out), *outputs[1:])
    return inputs, ((inputs[0].fn, out), *outputs[1:])  # output-name: an output named like an input
