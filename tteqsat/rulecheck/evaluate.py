"""A rule's terms evaluated in numpy: math constructors through the reference, hardware forms and the
streaming folds with the semantics `tteqsat.extraction.semantics.evaluate_program` gives them."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tteqsat.frontend.ir import TILE, Node
from tteqsat.frontend.masks import Mask
from tteqsat.frontend.reference import BINARY, UNARY, eval_node, repeat_tile, round_bf16
from tteqsat.rulecheck.claims import Call, Lit, Term, Uncheckable, Var, show
from tteqsat.rulecheck.shapes import DOMAINS, IllFormed

# -- values ----------------------------------------------------------------------------------------------
MODES = ("normal", "large", "exp-edge", "negative", "small-positive", "positive")
MODE_WEIGHTS = {False: (0.35, 0.2, 0.15, 0.1, 0.1, 0.1), True: (0.15, 0.1, 0.1, 0.0, 0.3, 0.35)}


def draw(rng: np.random.Generator, shape: tuple[int, int], mode: str) -> np.ndarray:
    if mode == "normal":
        x = rng.standard_normal(shape)
    elif mode == "large":
        x = rng.standard_normal(shape) * 1000.0
    elif mode == "exp-edge":  # where exp overflows in bf16/fp32 (~88.7)
        x = rng.uniform(85.0, 92.0, shape) * np.where(rng.random(shape) < 0.9, 1.0, -1.0)
    elif mode == "negative":
        x = -rng.uniform(0.1, 10.0, shape)
    elif mode == "small-positive":
        x = rng.uniform(1e-3, 0.1, shape)
    else:
        x = rng.uniform(0.25, 4.0, shape)
    return round_bf16(x.astype(np.float32)).astype(np.float64)  # exactly representable in every dtype


@dataclass
class Varying:
    """A chunk-local value inside a fold: one array per chunk index, drawn when first read."""

    shape: tuple[int, int]
    mode: str
    seed: int
    chunks: list[np.ndarray] = field(default_factory=list)

    def at(self, c: int) -> np.ndarray:
        rng = np.random.default_rng([self.seed, len(self.chunks)])
        while len(self.chunks) <= c:
            self.chunks.append(draw(rng, self.shape, self.mode))
        return self.chunks[c]


def fmt_value(v: object) -> str:
    if isinstance(v, Varying):
        return "chunks [" + "; ".join(fmt_value(c) for c in v.chunks) + "]"
    if isinstance(v, np.ndarray):
        body = np.array2string(v, precision=4, separator=", ", threshold=16, edgeitems=2,
                               max_line_width=10**6)
        return f"{' '.join(body.split())} ({v.shape[0]}x{v.shape[1]})"
    return repr(v)



def _int_div(a: int, b: int) -> int:
    if b == 0:
        raise IllFormed("integer division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _prim(name: str, args: list) -> object:
    method = name.rsplit(".", 1)[-1]
    ints = all(isinstance(x, int | np.integer) for x in args)
    if method.startswith("__r") and method[3:-2] in ("add", "sub", "mul", "truediv", "mod"):
        method, args = f"__{method[3:]}", args[::-1]
    a = args[0]
    b = args[1] if len(args) > 1 else None
    if method == "__truediv__":
        return _int_div(a, b) if ints else (a / b if b else float("nan"))
    if method == "__mod__":
        return a - b * _int_div(a, b) if ints else float(np.fmod(a, b))
    table: dict[str, Callable[[], object]] = {
        "__add__": lambda: a + b, "__sub__": lambda: a - b, "__mul__": lambda: a * b, "__neg__": lambda: -a,
        "__abs__": lambda: abs(a), "__pow__": lambda: a ** b, "min": lambda: min(a, b),
        "max": lambda: max(a, b),
        "__lt__": lambda: a < b, "__gt__": lambda: a > b, "__le__": lambda: a <= b, "__ge__": lambda: a >= b,
        "!=": lambda: a != b, "to_i64": lambda: int(a), "from_i64": lambda: float(a), "__init__": lambda: a,
    }
    if method not in table:
        raise Uncheckable(f"primitive '{name}'")
    return table[method]()


class Evaluator:
    """Numpy values of terms in one sample, in one dtype, with the chunk index of the enclosing fold."""

    def __init__(self, env: dict[str, object], dtype: type, rng_seed: int) -> None:
        self.env = env
        self.dtype = dtype
        self.seed = rng_seed
        self.scale = 0.0       # largest finite |value| seen while `track` is on
        self.track = True

    def _seen(self, x: np.ndarray) -> np.ndarray:
        if self.track:
            fin = np.abs(x[np.isfinite(x)])
            if fin.size:
                self.scale = max(self.scale, float(fin.max()))
        return x

    def value(self, t: Term, ctx: int | None = None) -> object:
        if isinstance(t, Lit):
            return t.value
        if isinstance(t, Var):
            v = self.env[t.name]
            if isinstance(v, Varying):
                if ctx is None:
                    raise IllFormed(f"the chunk-local value {t.name} is used outside its fold")
                v = v.at(ctx)
            if isinstance(v, np.ndarray):
                return self._seen(v.astype(self.dtype))
            return v
        args = t.args
        if t.prim:
            return _prim(t.fn, [self.value(a, ctx) for a in args])
        if t.fn in ("rows", "cols"):  # a chunk-local value has one shape in every chunk
            v = self.env.get(args[0].name) if isinstance(args[0], Var) else None
            shape = v.shape if isinstance(v, Varying) else self.tensor(args[0], ctx).shape
            return int(shape[0 if t.fn == "rows" else 1])
        if t.sort == "Unit":  # a relation such as whole(a) or chunk_width(w): a fact about the e-graph
            return True
        try:
            out = self._call(t, ctx)
        except ValueError as e:  # numpy refused the shapes: the expression is ill-formed
            raise IllFormed(f"{t.fn}: {e}") from None
        return self._seen(np.asarray(out, dtype=self.dtype))

    def tensor(self, t: Term, ctx: int | None) -> np.ndarray:
        v = self.value(t, ctx)
        if not isinstance(v, np.ndarray):
            raise IllFormed(f"{show(t)} is not a tensor")
        return v

    def _op(self, t: Call, ctx: int | None) -> str:
        op = self.value(t.args[0], ctx)
        valid = DOMAINS.get((t.fn, 0))
        if valid is not None and op not in valid:
            raise IllFormed(f"{t.fn} has no op {op!r} (valid: {', '.join(valid)})")
        return str(op)

    def _node(self, op: str, shape: tuple[int, int], args: list[np.ndarray], s: object = None) -> np.ndarray:
        attrs = (("s", s),) if s is not None else ()
        return eval_node(Node(op, (), shape, "fp32", attrs), args)

    def _call(self, t: Call, ctx: int | None) -> np.ndarray:
        f, a = t.fn, t.args
        T = lambda i: self.tensor(a[i], ctx)  # noqa: E731
        if f in ("unary", "hw_sfpu"):
            op, x = self._op(t, ctx), T(1)
            return UNARY[op](x)
        if f in ("binary", "hw_fpu", "hw_sfpu2", "hw_reuse"):
            op, x, y = self._op(t, ctx), T(1), T(2)
            same_values(x, y, f)
            if f == "hw_reuse":
                reuse = self.value(a[3], ctx)
                if reuse not in ("srca", "srcb"):
                    raise IllFormed(f"hw_reuse has no operand order {reuse!r} (srca, srcb)")
                x, y = (x, y) if reuse == "srca" else (y, x)
            return BINARY[op](x, y)
        if f == "hw_fpu_bcast":  # b one tile wide (high), read for every tile column (row) of a
            op, x, y, kind = self._op(t, ctx), T(1), T(2), self.value(a[3], ctx)
            axis = {"cols": 1, "rows": 0}.get(kind)  # type: ignore[call-overload]
            if axis is None:
                raise IllFormed(f"hw_fpu_bcast has no broadcast kind {kind!r} (cols, rows)")
            if y.shape[axis] != TILE or x.shape[axis] % TILE or x.shape[1 - axis] != y.shape[1 - axis]:
                raise IllFormed(f"hw_fpu_bcast {kind} of {x.shape} and {y.shape}: b must be one tile along {kind}")
            return BINARY[op](x, repeat_tile(y, x.shape, kind))
        if f in ("scalar", "hw_scalar"):
            return self._node(self._op(t, ctx), (0, 0), [T(1)], float(self.value(a[2], ctx)))
        if f in ("exp_scaled", "hw_exp_scaled"):
            return self._node("exp_scaled", (0, 0), [T(0)], float(self.value(a[1], ctx)))
        if f in ("matmul", "hw_matmul"):
            x, y = T(0), T(1)
            if f == "hw_matmul":
                flag = self.value(a[2], ctx)
                if flag not in (0, 1):
                    raise IllFormed(f"hw_matmul transpose_b must be 0 or 1, got {flag!r}")
                y = y.T if flag else y
            if x.shape[1] != y.shape[0]:
                raise IllFormed(f"matmul of {x.shape} and {y.shape}")
            return x @ y
        if f in ("transpose", "hw_transpose"):
            return T(0).T
        if f in ("reduce", "hw_reduce"):
            op, x = self._op(t, ctx), T(1)
            if f == "hw_reduce":  # the scaler CB multiplies every element before the reduction
                x = x * float(self.value(a[2], ctx))
            return self._node(op, (0, 0), [x])
        if f in ("bcast", "hw_bcast"):
            kind, v, n = self._op(t, ctx), T(1), int(self.value(a[2], ctx))  # type: ignore[call-overload]
            if kind == "cols" and v.shape[1] == 1 and n >= 1:
                return self._node("bcast_cols", (v.shape[0], n), [v])
            if kind == "rows" and v.shape[0] == 1 and n >= 1:
                return self._node("bcast_rows", (n, v.shape[1]), [v])
            raise IllFormed(f"bcast {kind!r} of a {v.shape} value to {n}")
        if f == "softmax":
            return self._node("softmax", (0, 0), [T(0)])
        if f == "output":
            return T(1)
        if f == "input_":
            key = f"input_:{self.value(a[0], ctx)}:{self.value(a[1], ctx)}x{self.value(a[2], ctx)}"
            if key not in self.env:
                shape = (int(self.value(a[1], ctx)), int(self.value(a[2], ctx)))  # type: ignore[call-overload]
                rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
                self.env[key] = draw(rng, shape, "normal")
            return self.env[key]  # type: ignore[return-value]
        if f in ("kchunk", "rchunk"):
            x, w = T(0), int(self.value(a[1], ctx))  # type: ignore[call-overload]
            axis = 1 if f == "kchunk" else 0
            c = ctx if ctx is not None else self._top_chunk(x.shape[axis], w)
            if w < 1 or (c + 1) * w > x.shape[axis]:
                raise IllFormed(f"chunk {c} of width {w} is outside a {x.shape} value")
            return x[:, c * w:(c + 1) * w] if axis == 1 else x[c * w:(c + 1) * w, :]
        if f == "rowblock":  # the current work item's rows: one block index per sample, as for chunks
            x, h = T(0), int(self.value(a[1], ctx))  # type: ignore[call-overload]
            c = int(self.env["__block__"]) if "__block__" in self.env else self._top_index(  # type: ignore[call-overload]
                "__top_block__", x.shape[0], h)
            if h < 1 or (c + 1) * h > x.shape[0]:
                raise IllFormed(f"row block {c} of {h} rows is outside a {x.shape} value")
            return x[c * h:(c + 1) * h, :]
        if f == "rowmap":  # the body computed for each row block, stacked
            blocks = self._trips(a[2], ctx)
            saved = self.env.pop("__block__", None)
            parts = []
            for c in range(blocks):
                self.env["__block__"] = c
                parts.append(T(0))
            self.env.pop("__block__")
            if saved is not None:
                self.env["__block__"] = saved
            for part in parts[1:]:
                same_values(parts[0], part, f)
            return np.vstack(parts)
        if f in ("fold_sum", "fold_max"):
            trips = self._trips(a[1], ctx)
            parts = [self.tensor(a[0], c) for c in range(trips)]
            for p in parts[1:]:
                same_values(parts[0], p, f)
            return np.sum(parts, axis=0) if f == "fold_sum" else np.max(parts, axis=0)
        if f == "running_max":
            if ctx is None:
                raise IllFormed("running_max outside a fold")
            start = int(self.env.get("__fold_start__", 0))  # type: ignore[call-overload]
            return np.max([self.tensor(a[0], c) for c in range(start, ctx + 1)], axis=0)
        if f in ("part_fold", "part_max"):
            chunks = self._part_chunks(a[3] if f == "part_fold" else a[1], a[4] if f == "part_fold" else a[2], ctx)
            if f == "part_max":
                return np.max([self.tensor(a[0], c) for c in chunks], axis=0)
            return self._online_sum(t, ctx, chunks, fold_start=chunks[0])
        if f == "combine_parts":
            return self._combine_parts(t, ctx)
        if f == "online_sum":
            return self._online_sum(t, ctx)
        if f == "online_live":
            return self._online_sum(t, ctx, self._live(t, a[4], a[5], a[6], a[3], ctx))
        if f == "fold_max_live":
            live = self._live(t, a[2], a[3], a[4], a[1], ctx)
            parts = [self.tensor(a[0], c) for c in live]
            return np.max(parts, axis=0) if parts else np.full(self.tensor(a[0], 0).shape, -np.inf)
        if f == "full_":
            return np.full((int(self.value(a[1], ctx)), int(self.value(a[2], ctx))),  # type: ignore[call-overload]
                           float(self.value(a[0], ctx)))  # type: ignore[arg-type]
        if f in ("where_", "hw_mask"):
            x = T(1)
            held = self._mask(a[0], a[3], a[4], x.shape, ctx)
            if f == "where_":
                return np.where(held, x, np.broadcast_to(T(2), x.shape))
            fill = float(self.value(a[2], ctx))  # type: ignore[arg-type]
            if fill == 0.0:
                return x * held
            if fill == -np.inf:
                return x + np.where(held, 0.0, -np.inf)
            raise IllFormed(f"hw_mask fills -inf or 0, not {fill}")
        if f in ("tilesum", "hw_tilesum"):  # the sum of x's column tiles: (rows, TILE)
            x = T(0)
            if x.shape[1] % TILE:
                raise IllFormed(f"tilesum of a {x.shape} value (columns not whole tiles)")
            return x.reshape(x.shape[0], x.shape[1] // TILE, TILE).sum(axis=1)
        raise Uncheckable(f"constructor '{f}' has no semantics in tteqsat.soundness")

    def _block(self, height: int) -> int:
        """The current row block's index (one per sample, shared with rowblock's choice)."""
        if "__block__" in self.env:
            return int(self.env["__block__"])  # type: ignore[call-overload]
        return self._top_index("__top_block__", 4 * height, height)

    def _mask(self, text: Term, block: Term, chunk: Term, shape: tuple[int, ...], ctx: int | None) -> np.ndarray:
        """Where the mask holds over a (rows, cols) value at the current block's rows and chunk's columns."""
        hb, wc = int(self.value(block, ctx)), int(self.value(chunk, ctx))  # type: ignore[call-overload]
        if hb < 0 or wc < 0:
            raise IllFormed("negative block or chunk size")
        r0 = self._block(hb) * hb if hb else 0
        c0 = ((ctx if ctx is not None else self._top_index("__chunk__", 4 * wc, wc)) * wc) if wc else 0
        mask = Mask.parse(str(self.value(text, ctx)))
        return mask.matrix(r0, int(shape[0]), c0, int(shape[1]))

    def _live(self, t: Call, text: Term, block: Term, chunk: Term, trips: Term, ctx: int | None) -> list[int]:
        """The chunks where the mask holds somewhere in the current block's rows."""
        n, w = self._trips(trips, ctx), int(self.value(chunk, ctx))  # type: ignore[call-overload]
        rows = self.tensor(t.args[0], 0).shape[0]
        return [c for c in range(n) if w > 0 and self._mask(text, block, chunk, (rows, w), c).any()]

    def _online_sum(self, t: Call, ctx: int | None, live: list[int] | None = None,
                    fold_start: int = 0) -> np.ndarray:
        """Sum of the body over chunks (`live` ones only, when given); the partial sum is rescaled by
        exp(s (m_old - m_new)) as m grows. A part's fold (`fold_start` > 0) keeps its own running max: the body's
        running_max starts at the part's first chunk."""
        s, trips = float(self.value(t.args[2], ctx)), self._trips(t.args[3], ctx)  # type: ignore[arg-type]
        acc: np.ndarray | None = None
        m_old: np.ndarray | None = None
        saved = self.env.get("__fold_start__")
        self.env["__fold_start__"] = fold_start
        try:
            for c in (range(trips) if live is None else live):
                m = self.tensor(t.args[1], c)
                if m.shape[1] != 1:
                    raise IllFormed(f"online_sum's running max must be one column, got {m.shape}")
                m_new = m if m_old is None else np.maximum(m_old, m)
                body = self.tensor(t.args[0], c)
                acc = body if acc is None or m_old is None else acc * np.exp(s * (m_old - m_new)) + body
                m_old = m_new
        finally:
            if saved is None:
                self.env.pop("__fold_start__")
            else:
                self.env["__fold_start__"] = saved
        if acc is None and live is not None:  # no chunk is live: nothing was added
            return np.zeros(self.tensor(t.args[0], 0).shape)
        if acc is None:
            raise IllFormed("online_sum over zero chunks")
        return acc

    def _part_chunks(self, trips: Term, parts: Term, ctx: int | None) -> list[int]:
        """The chunks of the current part (set by the enclosing combine_parts): trips/parts consecutive ones."""
        if "__part__" not in self.env:
            raise IllFormed("a part's fold outside combine_parts")
        n, p = self._trips(trips, ctx), self._trips(parts, ctx)
        q = int(self.env["__part__"])  # type: ignore[call-overload]
        if n % p or q >= p:
            raise IllFormed(f"{n} chunks do not split into {p} parts")
        return list(range(q * (n // p), (q + 1) * (n // p)))

    def _combine_parts(self, t: Call, ctx: int | None) -> np.ndarray:
        """sum_q exp(s (m_q - max_q m_q)) x_q: each part's fold rescaled from its own max to the largest."""
        s, p = float(self.value(t.args[2], ctx)), self._trips(t.args[3], ctx)  # type: ignore[arg-type]
        saved = self.env.pop("__part__", None)
        xs, ms = [], []
        try:
            for q in range(p):
                self.env["__part__"] = q
                xs.append(self.tensor(t.args[0], ctx))
                ms.append(self.tensor(t.args[1], ctx))
        finally:
            self.env.pop("__part__", None)
            if saved is not None:
                self.env["__part__"] = saved
        if any(m.shape != (xs[0].shape[0], 1) for m in ms) or any(x.shape != xs[0].shape for x in xs):
            raise IllFormed("combine_parts needs parts of one shape and a per-row max")
        top = np.max(ms, axis=0)
        return np.sum([np.exp(s * (m - top)) * x for x, m in zip(xs, ms, strict=True)], axis=0)

    def _trips(self, t: Term, ctx: int | None) -> int:
        n = self.value(t, ctx)
        if not isinstance(n, int | np.integer) or n < 1:
            raise IllFormed(f"a fold over {n!r} chunks")
        return int(n)

    def _top_chunk(self, extent: int, width: int) -> int:
        """Outside a fold, kchunk/rchunk mean "the current chunk": one index per sample, for both sides."""
        return self._top_index("__chunk__", extent, width)

    def _top_index(self, key: str, extent: int, width: int) -> int:
        if key not in self.env:
            if width < 1 or extent < width:
                raise IllFormed(f"no part of size {width} in {extent}")
            self.env[key] = int(np.random.default_rng([self.seed, 7]).integers(extent // width))
        return int(self.env[key])  # type: ignore[call-overload]


def same_values(x: np.ndarray, y: np.ndarray, fn: str) -> None:
    if x.shape != y.shape:
        raise IllFormed(f"{fn} of shapes {x.shape} and {y.shape}")


