"""How a core's work pipelines through its threads (a flow shop with dependencies).

Each thread runs its stages' passes in program order: the unpacker of section 2 may start as soon as it
has finished section 1's passes and the tiles it reads are in their CB, while math is still on section 1.
A section that reads another section's value waits until the passes that pack the tiles its first pass
reads are packed (all of them for, say, a row reduction over a whole row; the first one for an
elementwise reader). Buffers bound how far a thread runs ahead: the unpacker fills SrcA/SrcB at most one
pass ahead of math, and math fills a DST half at most one pass ahead of pack (half-sync DST). Within a pass,
math starts after its first tile is unpacked and ends its `tail` (the SFPU work on what the pass read) after
its last tile is unpacked.

Data movement runs on two more threads: a stage with `read` cycles per pass is the reader moving that many
tiles from DRAM one after another, a stage with `write` cycles the writer moving a section's packed tiles
out. A section waits for the reader stage of a CB it reads like for any producer; a reader stage waits until
its CB has room (`Need.freed`: the stage that last read the CB's pages has unpacked them), which bounds how
far ahead the reader runs by the CB's depth (one work item for a whole input, two trips for a double-buffered
chunk stream).

For n identical passes the recurrences have closed forms (the maximum of a convex function of the pass
index sits at an end), so a section costs O(1) whatever its pass count. A loop is run trip by trip for a
few trips and then extrapolated by the steady per-trip increment; work items the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

STEADY_TRIPS = 3  # trips (and work items) simulated before a loop is extrapolated by its per-trip increment
TRANSIENT_TRIPS = 16  # at most this many trips simulated while the per-trip increment still changes
THREADS = ("r", "u", "m", "p", "w")  # reader, unpack, math, pack, writer


@dataclass(frozen=True)
class Need:
    """The consumer's first pass needs `passes` passes of stage `index` in `part` packed (for a reader stage:
    read), or with `freed`, that stage to have unpacked everything it reads (its CB pages popped).

    part: "pre", "body" (same trip; from a post stage: the last trip), "prev" (a body stage of the previous
    trip: loop-carried state; none before the first trip), "post". The latest run of the stage is meant;
    `back` counts runs before it (a stage later in the same loop body: back=1 is two trips before).
    `first`: for a "prev" need, the pre stage the first trip waits for instead (the copy of a stage that runs
    one trip ahead, run before the loop for the first trip: `ahead_of_loop`).
    `spread`: the consumer waits row block by row block (`DstSection.row_waits`, or a streamed input's passes):
    its first pass needs `passes`, its last pass all of them. The producer's pack times are convex in the pass
    index, so the line between those two bounds every pass's from above: the consumer starts at the first and
    unpacks no faster than the line climbs (each pass's unpack stretched to the line's step where the producer is
    the slower), so the model never has a pass read a row before it is packed and runs the consumer alongside a
    slower producer, not after it (which had the consumer's own consumers, a writer, start late)."""

    part: str
    index: int
    passes: int
    back: int = 0
    freed: bool = False
    first: int = -1
    spread: bool = False


@dataclass(frozen=True)
class Stage:
    """One section as the threads see it: per-pass busy cycles, one-time cycles before the first pass. A stage
    with `read` (or `write`) cycles is the reader (writer) moving `passes` tiles, that many cycles each."""

    passes: int
    unpack: float
    math: float
    pack: float
    setup_unpack: float = 0.0
    setup_math: float = 0.0
    setup_pack: float = 0.0
    needs: tuple[Need, ...] = ()
    grain: int = 1  # tiles unpacked per pass: math starts after the first, ends after the last one's math
    tail: float = 0.0  # math after a pass's last tile is unpacked (at least the last tile's: math / grain)
    read: float = 0.0
    write: float = 0.0
    port: float = 0.0  # a write stage's cycles per tile on the reader's DRAM port (a core bound by the chip's
    # DRAM bandwidth reads and writes through one share of it): reads that overlap the write wait that long
    lead: float = 0.0  # of a pass's `unpack`, the cycles it waits for its producer before its first tile

    @property
    def firsts(self) -> tuple[float, float]:
        """A pass's unpack until its first tile is unpacked, and its math after its last one is (`_math_done`'s
        u/g and t): derived once per stage (kept in its __dict__, as a frozen dataclass's cached_property would,
        without that one's lock), as the pipeline asks for them at every pass it times."""
        known = self.__dict__.get("_firsts")
        if known is None:
            g = max(1, self.grain)
            known = self.__dict__["_firsts"] = (self.lead + (self.unpack - self.lead) / g,
                                                min(self.math, max(self.math / g, self.tail)))
        return known


@dataclass
class _Record:
    """When a stage instance started on each thread, to tell when its k-th pass was packed (or read), and when
    it had unpacked all it reads (`freed`)."""

    su: float
    sm: float
    sp: float
    stage: Stage
    freed: float = 0.0
    pace: float = 0.0  # a read stage's cycles per pass with the writes that held its port in between
    first_math: float | None = None  # _math_done(sm, su, stage, 1), when `_Threads.run` has it
    last_packed: float | None = None  # packed(stage.passes), when `_Threads.run` has it

    def packed(self, k: int) -> float:
        s = self.stage
        k = min(max(k, 1), s.passes)
        if s.read or s.write:
            return self.su + k * (self.pace or s.read or s.write)
        if k == s.passes and self.last_packed is not None:
            return self.last_packed
        first = _math_done(self.sm, self.su, s, 1) if self.first_math is None else self.first_math
        return max(self.sp + k * s.pack, first + k * s.pack, _math_done(self.sm, self.su, s, k) + s.pack)

    def shifted(self, d: dict[str, float]) -> _Record:
        s = self.stage
        if s.read or s.write:
            du = d["r" if s.read else "w"]
            return _Record(self.su + du, self.sm, self.sp, s, self.freed, self.pace)
        return _Record(self.su + d["u"], self.sm + d["m"], self.sp + d["p"], s, self.freed + d["u"])


def _math_done(sm: float, su: float, s: Stage, k: int) -> float:
    """When math finishes pass k of identical passes: math runs back to back from sm, each pass starting
    after its first tile is unpacked and ending its tail of math after its last tile is unpacked (closed form
    of M_j = max(M_(j-1) + m, su + (j-1) u + u/g + m, su + j u + t), t = max(m/g, tail): a maximum of linear
    terms in j, so the unrolled maximum sits at j = 1 or j = k)."""
    u, m = s.unpack, s.math
    u1, m1 = s.firsts
    return max(sm + k * m, su + u1 + k * m, su + (k - 1) * u + u1 + m, su + u + m1 + (k - 1) * m, su + k * u + m1)


def _steady(clocks: list[dict[str, float]]) -> bool:
    """Whether the last two trips moved every thread's clock alike: the loop is in its steady state, so its
    per-trip increment may be extrapolated. (A trip that follows another item's tail, or a reader that ran
    ahead until a CB filled, moves the threads unevenly for a few trips.)"""
    if len(clocks) < 3:
        return False
    a, b, c = clocks[-3:]
    return all(abs((c[k] - b[k]) - (b[k] - a[k])) <= 1e-9 * max(1.0, c[k]) for k in THREADS)


class _Threads:
    def __init__(self) -> None:
        self.t = dict.fromkeys(THREADS, 0.0)
        self.held: list[tuple[float, float, float]] = []  # (from, to, port cycles) of writes on the read port

    def _port_delay(self, start: float, end: float) -> float:
        """Cycles the writes booked so far hold the reader's port between `start` and `end` (each write's port
        cycles spread evenly over its span: its tiles leave one per barrier)."""
        self.held = [h for h in self.held if h[1] > start]
        return sum(busy * (min(end, b) - max(start, a)) / (b - a) for a, b, busy in self.held if a < end and b > a)

    def run(self, stage: Stage, ready: float, last: float = 0.0, paced: bool = False) -> _Record:
        """Run `stage` once its needs allow (`ready`; a writer stage also needs its last tile, packed at
        `last`). `paced`: `ready` is where the stage's first pass starts, a pass of its unpack before that pass
        ends (`_Run.stage` puts it there, the unpacker free by then)."""
        t = self.t
        n = stage.passes
        if stage.read:
            start = max(t["r"], ready)
            end = start + n * stage.read
            if self.held:  # writes sharing the port: the reads take longer by the port time they hold
                end += self._port_delay(start, end)
            t["r"] = end
            return _Record(start, 0.0, 0.0, stage, end, (end - start) / n if n > 0 else 0.0)
        if stage.write:  # tile k leaves after it is packed; tiles are packed at most a pass apart
            start = max(t["w"], ready)
            t["w"] = max(start + n * stage.write, last + stage.write) if n > 0 else start
            if stage.port and n > 0 and t["w"] > start:
                self.held.append((start, t["w"], n * stage.port))
            return _Record(start, 0.0, 0.0, stage, t["w"])
        su = ready if paced else max(t["u"] + stage.setup_unpack, ready)
        rec = _Record(su, t["m"] + stage.setup_math, t["p"] + stage.setup_pack, stage)
        u, m, p = stage.unpack, stage.math, stage.pack
        if n <= 0:
            t["u"], t["m"], t["p"] = su, rec.sm, rec.sp
            rec.freed = su
            return rec
        mn = _math_done(rec.sm, su, stage, n)
        first = _math_done(rec.sm, su, stage, 1)
        pn = max(rec.sp + n * p, first + n * p, mn + p)  # packed(n), as `_Record.packed` has it
        rec.first_math, rec.last_packed = first, pn
        t["u"] = max(su + n * u, mn - m)  # SrcA/SrcB: the unpacker stays at most one pass ahead of math
        t["m"] = max(mn, pn - p)           # DST halves: math stays at most one pass ahead of pack
        t["p"] = pn
        rec.freed = su + n * u
        return rec

    @property
    def end(self) -> float:
        return max(self.t.values())


class _Run:
    """The threads and the history of every stage's runs (the last few), over loop trips and work items."""

    KEEP = STEADY_TRIPS

    def __init__(self) -> None:
        self.threads = _Threads()
        self.history: dict[tuple[str, int], list[_Record]] = {}

    def record(self, part: str, index: int, rec: _Record) -> None:
        runs = self.history.setdefault((part, index), [])
        runs.append(rec)
        del runs[:-self.KEEP]

    def lookup(self, need: Need, trip: int) -> _Record | None:
        if need.part == "prev" and trip == 0:  # the first trip reads the filled state, or what ran before it
            runs = self.history.get(("pre", need.first)) if need.first >= 0 else None
            return runs[-1] if runs else None
        runs = self.history.get(("body" if need.part == "prev" else need.part, need.index))
        if not runs or len(runs) <= need.back:
            return None
        return runs[-1 - need.back]

    def stage(self, part: str, index: int, stage: Stage, trip: int) -> None:
        ready = last = 0.0
        packed_last = 0.0  # the last pass's need on producers a `spread` need paces
        history = self.history
        for need in stage.needs:
            if need.part == "prev" and trip == 0:
                rec = self.lookup(need, trip)
                if rec is None:
                    continue
            else:  # `lookup`'s common case inline (the pipeline asks for every need of every stage it runs)
                runs = history.get(("body" if need.part == "prev" else need.part, need.index))
                if not runs or len(runs) <= need.back:
                    continue
                rec = runs[-1 - need.back]
            if need.freed:
                ready = max(ready, rec.freed)
            elif stage.write:
                ready = max(ready, rec.packed(1))
                last = max(last, rec.packed(need.passes))
            else:
                ready = max(ready, rec.packed(need.passes))
                if need.spread and stage.passes > 1:
                    packed_last = max(packed_last, rec.packed(rec.stage.passes))
        paced = False
        if packed_last:  # pass k's unpack ends at E(k) = max(start + k u, L(k) + u), L the line from the first
            n, u = stage.passes, stage.unpack  # pass's need to the last's: convex, so under its chord
            start = max(self.threads.t["u"] + stage.setup_unpack, ready)
            pace = (max(start + n * u, packed_last + u) - start - u) / (n - 1)
            if pace > u:  # paced by a slower producer: each pass waits on the chord, then unpacks
                stage, ready, paced = replace(stage, unpack=pace, lead=pace - u), start + u - pace, True
        runs = history.setdefault((part, index), [])  # `record`, inline
        runs.append(self.threads.run(stage, ready, last, paced))
        if len(runs) > self.KEEP:
            del runs[0]

    def shift(self, d: dict[str, float], parts: tuple[str, ...] = ("pre", "body", "post")) -> None:
        """Move every thread's clock, and the recorded runs of `parts`, on by `d` (an extrapolated stretch)."""
        self.threads.t = {k: v + d[k] for k, v in self.threads.t.items()}
        for (part, _), runs in self.history.items():
            if part in parts:
                runs[:] = [r.shifted(d) for r in runs]

    def item(self, pre: list[Stage], body: list[Stage], trips: int, post: list[Stage]) -> None:
        for n, stage in enumerate(pre):
            self.stage("pre", n, stage, 0)
        if body and trips > 0:
            clocks: list[dict[str, float]] = []
            for trip in range(trips):
                for n, stage in enumerate(body):
                    self.stage("body", n, stage, trip)
                clocks.append(dict(self.threads.t))
                if trip + 1 >= STEADY_TRIPS and (_steady(clocks) or trip + 1 >= TRANSIENT_TRIPS):
                    break
            if trips > len(clocks):
                extra = trips - len(clocks)
                self.shift({k: extra * (clocks[-1][k] - clocks[-2][k]) for k in THREADS}, ("body",))
        for n, stage in enumerate(post):
            self.stage("post", n, stage, 0)


def pipelined_cycles(pre: list[Stage], body: list[Stage] | None = None, trips: int | Sequence[int] = 0,
                     post: list[Stage] | None = None, items: int = 1) -> float:
    """Cycles from the first pass of `pre` to the last pack (or write) of `post`, with `body` run `trips`
    times, for `items` work items run one after another (the stages of one item, again and again).
    `trips` may give each item its own count (a masked loop's row blocks; `items` is then their number): the
    items still run as one pipeline, the next one's reads going ahead while this one computes."""
    counts = [trips] * max(1, items) if isinstance(trips, int) else list(trips)
    return _items_of_trips(pre, body or [], counts, post or [])


def ahead_of_loop(pre: list[Stage], body: list[Stage], post: list[Stage], ahead: list[bool]
                  ) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """A loop whose `ahead` body stages compute the next trip's values (software pipelining), as the emitted
    kernel runs it: those stages once before the loop for the first trip (after `pre`), the body one trip
    fewer times, and the last trip without them (before `post`). Waits are renumbered to the copies: a body
    stage's wait on an ahead stage's previous run is, in the first trip, on its copy before the loop; the last
    trip's and `post`'s waits on a body stage of the same trip are on its copy in the last trip.
    Run the body `trips - 1` times."""
    n_pre = len(pre)
    first = {i: n_pre + k for k, i in enumerate(i for i, a in enumerate(ahead) if a)}
    last = {i: k for k, i in enumerate(i for i, a in enumerate(ahead) if not a)}

    def before_loop(need: Need) -> Need | None:  # ahead stages read chunks, values before the loop, each other
        if need.part == "body" and need.index in first and not need.freed and need.back == 0:
            return replace(need, part="pre", index=first[need.index])
        return need if need.part == "pre" else None  # a CB's room: nothing ran before the first trip

    def in_last_trip(need: Need, position: int) -> Need:
        """`need` of the stage at body `position` (len(body) for post stages) as the last trip's copy sees it."""
        if need.part == "prev" or (need.part == "body" and need.index >= position):
            return replace(need, part="body")  # the last run inside the loop
        if need.part == "body" and need.index in last:  # the same trip: its copy, or runs before it
            return replace(need, part="post", index=last[need.index]) if need.back == 0 else \
                replace(need, back=need.back - 1)
        if need.part == "post":
            return replace(need, index=need.index + len(last))
        return need

    prologue = [replace(body[i], needs=tuple(n for n in map(before_loop, body[i].needs) if n is not None))
                for i in first]
    looped = [replace(st, needs=tuple(replace(n, first=first[n.index]) if n.part == "prev" and n.index in first
                                      else n for n in st.needs)) for st in body]
    peeled = [replace(body[i], needs=tuple(in_last_trip(n, i) for n in body[i].needs)) for i in last]
    after = [replace(st, needs=tuple(in_last_trip(n, len(body)) for n in st.needs)) for st in post]
    return pre + prologue, looped, peeled + after


def interleaved(pre: list[Stage], body: list[Stage], post: list[Stage], joins: dict[int, Stage]
                ) -> tuple[list[Stage], list[Stage], list[Stage]]:
    """The loop with body stages a and a + 1 run as the one stage `joins[a]` for each a (their passes alternating:
    `CostModel.joined_stage`), every wait on a body stage renumbered (a wait of the joined stage on itself is on
    its previous trip)."""
    index = list(range(len(body)))
    kept = [n for n in range(len(body)) if n - 1 not in joins]
    new = {old: kept.index(old if old in kept else old - 1) for old in index}

    def renumber(stage: Stage) -> Stage:
        return replace(stage, needs=tuple(replace(n, index=new[n.index]) if n.part in ("body", "prev") else n
                                          for n in stage.needs))

    looped = [renumber(joins.get(n, body[n])) for n in kept]
    return [renumber(st) for st in pre], looped, [renumber(st) for st in post]


def _items_of_trips(pre: list[Stage], body: list[Stage], trips: list[int], post: list[Stage]) -> float:
    """`pipelined_cycles` for items run in the order given, each its own trip count: each run of more than
    `STEADY_TRIPS` consecutive items with one count is extrapolated by its steady per-item increment on every
    thread, so the items after it start where the threads would stand."""
    run = _Run()
    n = 0
    while n < len(trips):
        same = n
        while same < len(trips) and trips[same] == trips[n]:
            same += 1
        clocks: list[dict[str, float]] = []
        for _ in range(min(same - n, STEADY_TRIPS)):
            run.item(pre, body, trips[n], post)
            clocks.append(dict(run.threads.t))
        if same - n > STEADY_TRIPS:
            extra = same - n - STEADY_TRIPS
            run.shift({k: extra * (clocks[-1][k] - clocks[-2][k]) for k in THREADS})
        n = same
    return run.threads.end
