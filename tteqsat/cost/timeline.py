"""How DST sections pipeline through a core's three threads (a flow shop with dependencies).

Each thread runs the sections' passes in program order: the unpacker of section 2 may start as soon as it
has finished section 1's passes and the tiles it reads are in their CB, while math is still on section 1.
A section that reads another section's value waits until the passes that pack the tiles its first pass
reads are packed (all of them for, say, a row reduction over a whole row; the first one for an
elementwise reader). Buffers bound how far a thread runs ahead: the unpacker fills SrcA/SrcB at most one
pass ahead of math, and math fills a DST half at most one pass ahead of pack (half-sync DST).

For n identical passes the recurrences have closed forms (the maximum of a convex function of the pass
index sits at an end), so a section costs O(1) whatever its pass count. A loop is run trip by trip for a
few trips and then extrapolated by the steady per-trip increment.
"""

from __future__ import annotations

from dataclasses import dataclass

STEADY_TRIPS = 3  # trips simulated before a loop is extrapolated by its per-trip increment


@dataclass(frozen=True)
class Need:
    """The consumer's first pass needs `passes` passes of stage `index` in `part` packed.

    part: "pre", "body" (same trip; from a post stage: the last trip), "prev" (a body stage of the previous
    trip: loop-carried state), "post"."""

    part: str
    index: int
    passes: int


@dataclass(frozen=True)
class Stage:
    """One section as the threads see it: per-pass busy cycles, one-time cycles before the first pass."""

    passes: int
    unpack: float
    math: float
    pack: float
    setup_unpack: float = 0.0
    setup_math: float = 0.0
    setup_pack: float = 0.0
    needs: tuple[Need, ...] = ()
    grain: int = 1  # tiles unpacked per pass: math starts after the first, ends after the last one's math


@dataclass
class _Record:
    """When a stage instance started on each thread, to tell when its k-th pass was packed."""

    su: float
    sm: float
    sp: float
    stage: Stage

    def packed(self, k: int) -> float:
        s = self.stage
        k = min(max(k, 1), s.passes)
        return max(self.sp + k * s.pack, _math_done(self.sm, self.su, s, 1) + k * s.pack,
                   _math_done(self.sm, self.su, s, k) + s.pack)

    def shifted(self, du: float, dm: float, dp: float) -> _Record:
        return _Record(self.su + du, self.sm + dm, self.sp + dp, self.stage)


def _math_done(sm: float, su: float, s: Stage, k: int) -> float:
    """When math finishes pass k of identical passes: math runs back to back from sm, each pass starting
    after its first tile is unpacked and ending after its last tile's math (closed form of
    M_j = max(M_(j-1) + m, su + (j-1) u + u/g + m, su + j u + m/g): a maximum of linear terms in j, so the
    unrolled maximum sits at j = 1 or j = k)."""
    u, m, g = s.unpack, s.math, max(1, s.grain)
    u1, m1 = u / g, m / g
    return max(sm + k * m, su + u1 + k * m, su + (k - 1) * u + u1 + m, su + u + m1 + (k - 1) * m, su + k * u + m1)


class _Threads:
    def __init__(self) -> None:
        self.u = self.m = self.p = 0.0

    def run(self, stage: Stage, ready: float) -> _Record:
        su = max(self.u + stage.setup_unpack, ready)
        rec = _Record(su, self.m + stage.setup_math, self.p + stage.setup_pack, stage)
        n, u, m, p = stage.passes, stage.unpack, stage.math, stage.pack
        if n <= 0:
            self.u, self.m, self.p = su, rec.sm, rec.sp
            return rec
        mn = _math_done(rec.sm, su, stage, n)
        pn = max(rec.sp + n * p, _math_done(rec.sm, su, stage, 1) + n * p, mn + p)
        self.u = max(su + n * u, mn - m)  # SrcA/SrcB: the unpacker stays at most one pass ahead of math
        self.m = max(mn, pn - p)           # DST halves: math stays at most one pass ahead of pack
        self.p = pn
        return rec

    @property
    def end(self) -> float:
        return max(self.u, self.m, self.p)


def pipelined_cycles(pre: list[Stage], body: list[Stage] | None = None, trips: int = 0,
                     post: list[Stage] | None = None) -> float:
    """Cycles from the first pass of `pre` to the last pack of `post`, with `body` run `trips` times."""
    body, post = body or [], post or []
    threads = _Threads()
    done: dict[tuple[str, int], _Record] = {}

    def ready(stage: Stage, trip: int) -> float:
        t = 0.0
        for need in stage.needs:
            if need.part == "prev" and trip == 0:
                continue  # the first trip reads the filled state
            key = ("body", need.index) if need.part == "prev" else (need.part, need.index)
            rec = done.get(key) if need.part != "prev" else previous.get(need.index)
            if rec is not None:
                t = max(t, rec.packed(need.passes))
        return t

    previous: dict[int, _Record] = {}
    for n, stage in enumerate(pre):
        done[("pre", n)] = threads.run(stage, ready(stage, 0))
    if body and trips > 0:
        clocks: list[tuple[float, float, float]] = []
        for trip in range(min(trips, STEADY_TRIPS)):
            current: dict[int, _Record] = {}
            for n, stage in enumerate(body):
                done[("body", n)] = current[n] = threads.run(stage, ready(stage, trip))
            previous = current
            clocks.append((threads.u, threads.m, threads.p))
        if trips > STEADY_TRIPS:
            extra = trips - STEADY_TRIPS
            du, dm, dp = (extra * (b - a) for a, b in zip(clocks[-2], clocks[-1], strict=True))
            threads.u, threads.m, threads.p = threads.u + du, threads.m + dm, threads.p + dp
            for n in range(len(body)):
                done[("body", n)] = done[("body", n)].shifted(du, dm, dp)
    for n, stage in enumerate(post):
        done[("post", n)] = threads.run(stage, ready(stage, 0))
    return threads.end
