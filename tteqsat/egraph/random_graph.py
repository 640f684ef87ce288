"""Random serialized e-graphs of hardware op forms, for testing and benchmarking extractors.

Every class has one or more alternative hardware nodes whose children are earlier classes (so a program
always exists); with `back_edges` some nodes also point at later classes, which makes cycles that an
extractor must refuse. Classes are shared between users, which is where greedy extraction goes wrong.
"""

from __future__ import annotations

import random

from tteqsat.egraph.bridge import ENode, SerializedEGraph

# (constructor, literals, arity) of the forms drawn; all keep the operand's shape
_FORMS: tuple[tuple[str, tuple[object, ...], int], ...] = (
    ("hw_sfpu", ("exp",), 1), ("hw_sfpu", ("relu",), 1), ("hw_sfpu", ("sqrt",), 1), ("hw_sfpu", ("recip",), 1),
    ("hw_sfpu", ("sigmoid",), 1), ("hw_scalar", ("mul_s", 0.5), 1), ("hw_exp_scaled", (0.125,), 1),
    ("hw_transpose", (), 1), ("hw_fpu", ("add",), 2), ("hw_fpu", ("mul",), 2), ("hw_sfpu2", ("add",), 2),
    ("hw_sfpu2", ("max",), 2), ("hw_reuse", ("add", "srca"), 2), ("hw_reuse", ("mul", "srcb"), 2),
)


_BCAST_OPS = ("add", "sub", "mul")


def random_egraph(seed: int, classes: int = 40, inputs: int = 3, alternatives: int = 3, outputs: int = 2,
                  back_edges: float = 0.05, shape: tuple[int, int] = (64, 64), bcast: float = 0.0
                  ) -> SerializedEGraph:
    """A reproducible random e-graph: `inputs` input classes, then `classes` computed ones. With `bcast`, that
    share of the computed classes also has an FPU op against one broadcast tile per tile row (`hw_fpu_bcast`) of
    the first input's row max, from two classes of their own shapes (a column, its one-tile-wide broadcast)."""
    rng = random.Random(seed)
    ids = [f"TensorExpr-{k}" for k in range(inputs + classes)]
    graph: dict[str, list[ENode]] = {}
    shapes = {cid: shape for cid in ids}
    counter = 0

    def node(op: str, children: tuple[str, ...], literals: tuple[object, ...]) -> ENode:
        nonlocal counter
        counter += 1
        return ENode(f"n{counter}", op, children, literals)

    for k in range(inputs):
        graph[ids[k]] = [node("input_", (), (f"in{k}",))]
    column, tile = "TensorExpr-column", "TensorExpr-bcast"
    if bcast:
        graph[column] = [node("hw_reduce", (ids[0],), ("rowmax", 1.0))]
        graph[tile] = [node("hw_bcast", (column,), ("cols", 32))]
        shapes[column], shapes[tile] = (shape[0], 1), (shape[0], 32)
    for k in range(inputs, inputs + classes):
        nodes = []
        for alt in range(1 + rng.randrange(alternatives)):
            op, lits, arity = _FORMS[rng.randrange(len(_FORMS))]
            # prefer recent classes: deep chains with shared subterms
            kids = tuple(ids[max(0, k - 1 - int(rng.expovariate(0.25)))] for _ in range(arity))
            if alt > 0 and rng.random() < back_edges:
                kids = (ids[rng.randrange(k + 1, len(ids))] if k + 1 < len(ids) else ids[k],) + kids[1:]
            nodes.append(node(op, kids, lits))
        if rng.random() < 0.3:  # a math-level node extraction must skip
            nodes.append(node("binary", nodes[0].children[:1] * 2, ("add",)))
        if bcast and rng.random() < bcast:
            nodes.append(node("hw_fpu_bcast", (nodes[0].children[0], tile), (rng.choice(_BCAST_OPS), "cols")))
        graph[ids[k]] = nodes
    roots = ids[len(ids) - outputs:]
    return SerializedEGraph(graph, shapes, sorted((f"out{n}", cid) for n, cid in enumerate(roots)))


def input_names(graph: SerializedEGraph) -> list[str]:
    """The input names of a random e-graph, in order."""
    return sorted(str(n.literals[0]) for nodes in graph.classes.values() for n in nodes if n.op == "input_")
