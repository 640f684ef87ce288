"""What a rule claims, read from its egglog declaration: `lhs == rhs` wherever its facts hold.

Terms are a small tree model (Var, Lit, Call) of egglog's declarations, printed back for reports.
"""

from __future__ import annotations

from dataclasses import dataclass

from egglog import declarations as D

from tteqsat.frontend.ir import SCALAR_OPS
from tteqsat.rules import Rule


# -- the claim, read from the egglog declaration ------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    name: str
    sort: str


@dataclass(frozen=True)
class Lit:
    value: object
    sort: str


@dataclass(frozen=True)
class Call:
    fn: str          # constructor/relation name, or a primitive: "f64.__gt__", "!="
    args: tuple[Term, ...]
    sort: str
    prim: bool       # an egglog builtin (arithmetic, comparison), not a table of the e-graph


Term = Var | Lit | Call


@dataclass(frozen=True)
class Eq:
    left: Term
    right: Term


@dataclass(frozen=True)
class Holds:
    term: Term


Fact = Eq | Holds


@dataclass(frozen=True)
class Claim:
    """What a rule asserts: wherever `facts` hold (the matched pattern among them), `lhs == rhs`."""

    lhs: Term
    rhs: Term
    facts: tuple[Fact, ...]


class Uncheckable(Exception):
    """The rule uses something the checker has no semantics for."""


def _term(decl: object, sort: str, lets: dict[str, Term]) -> Term:
    if isinstance(decl, D.TypedExprDecl):
        return _term(decl.expr, decl.tp.ident.name, lets)
    if isinstance(decl, D.UnboundVarDecl):
        return Var(decl.name, sort)
    if isinstance(decl, D.LitDecl):
        return Lit(decl.value, sort)
    if isinstance(decl, D.LetRefDecl) and decl.name in lets:
        return lets[decl.name]
    if isinstance(decl, D.CallDecl):
        ref = decl.callable
        if isinstance(ref, D.FunctionRef):
            name, prim = ref.ident.name, ref.ident.module.startswith("egglog")
        elif isinstance(ref, D.MethodRef | D.ClassMethodRef):
            name, prim = f"{ref.ident.name}.{ref.method_name}", ref.ident.module.startswith("egglog")
        else:
            raise Uncheckable(f"calls through {type(ref).__name__}")
        return Call(name, tuple(_term(a, "", lets) for a in decl.args), sort, prim)
    raise Uncheckable(f"expression form {type(decl).__name__}")


def _fact(decl: object) -> Fact:
    if isinstance(decl, D.EqDecl):
        sort = decl.tp.ident.name
        return Eq(_term(decl.left, sort, {}), _term(decl.right, sort, {}))
    if isinstance(decl, D.ExprFactDecl):
        return Holds(_term(decl.typed_expr, "", {}))
    raise Uncheckable(f"fact form {type(decl).__name__}")


def claims(rule: Rule) -> list[Claim]:
    """The equalities a rule asserts. A rule whose head unions nothing asserts none."""
    decl = rule.rewrite.decl
    if isinstance(decl, D.RewriteDecl | D.BiRewriteDecl):
        sort = decl.tp.ident.name
        lhs, rhs = _term(decl.lhs, sort, {}), _term(decl.rhs, sort, {})
        conds = tuple(_fact(c) for c in decl.conditions)
        out = [Claim(lhs, rhs, (Holds(lhs), *conds))]
        if isinstance(decl, D.BiRewriteDecl):
            out.append(Claim(rhs, lhs, (Holds(rhs), *conds)))
        return out
    if isinstance(decl, D.RuleDecl):
        body = tuple(_fact(f) for f in decl.body)
        lets: dict[str, Term] = {}
        out = []
        for action in decl.head:
            if isinstance(action, D.LetDecl):
                lets[action.name] = _term(action.typed_expr, "", lets)
            elif isinstance(action, D.UnionDecl):
                sort = action.tp.ident.name
                out.append(Claim(_term(action.lhs, sort, lets), _term(action.rhs, sort, lets), body))
        return out
    raise Uncheckable(f"declaration form {type(decl).__name__}")


# -- pretty printing -----------------------------------------------------------------------------------
_INFIX_BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_INFIX_PRIM = {"__add__": "+", "__sub__": "-", "__mul__": "*", "__truediv__": "/", "__mod__": "%",
               "__lt__": "<", "__gt__": ">", "__le__": "<=", "__ge__": ">=", "!=": "!="}


def _is_infix(t: Term) -> bool:
    if not isinstance(t, Call):
        return False
    op = t.args[0].value if t.args and isinstance(t.args[0], Lit) else None
    return (t.fn == "matmul" or (t.fn == "binary" and op in _INFIX_BINARY)
            or (t.fn == "scalar" and op in SCALAR_OPS) or (t.prim and t.fn.rsplit(".", 1)[-1] in _INFIX_PRIM))


def show(t: Term) -> str:
    """A term in the DSL's notation: `exp(a * s)`, `(a @ b) * bcast_cols(v, n)`, `hw_fpu.mul(a, b)`."""
    if isinstance(t, Var):
        return t.name
    if isinstance(t, Lit):
        return repr(t.value) if isinstance(t.value, str) else str(t.value)
    r = [show(a) for a in t.args]                                    # as function arguments
    p = [f"({x})" if _is_infix(a) else x for a, x in zip(t.args, r, strict=True)]  # as infix operands
    op = t.args[0].value if t.args and isinstance(t.args[0], Lit) else None
    if t.prim:
        method = t.fn.rsplit(".", 1)[-1]
        if method in _INFIX_PRIM and len(p) == 2:
            return f"{p[0]} {_INFIX_PRIM[method]} {p[1]}"
        return {"__neg__": f"-{p[0]}", "__abs__": f"abs({r[0]})"}.get(method, f"{method}({', '.join(r)})")
    if t.fn == "binary" and op in _INFIX_BINARY:
        return f"{p[1]} {_INFIX_BINARY[op]} {p[2]}"
    if t.fn == "scalar" and op in SCALAR_OPS:
        return {"add_s": f"{p[1]} + {p[2]}", "mul_s": f"{p[1]} * {p[2]}", "rsub_s": f"{p[2]} - {p[1]}",
                "rdiv_s": f"{p[2]} / {p[1]}"}[op]
    if t.fn == "matmul":
        return f"{p[0]} @ {p[1]}"
    if t.fn == "transpose":
        return f"{p[0]}.T"
    if t.fn == "input_" and op is not None:
        return str(op)
    if t.fn in ("unary", "binary", "reduce") and op is not None:
        return f"{op}({', '.join(r[1:])})"
    if t.fn == "bcast" and op is not None:
        return f"bcast_{op}({', '.join(r[1:])})"
    if op is not None:
        return f"{t.fn}.{op}({', '.join(r[1:])})"
    return f"{t.fn}({', '.join(r)})"


def describe(rule: Rule) -> str:
    """`lhs -> rhs` of a rule, with the pattern a `rule(...)` body binds substituted for its variable."""
    try:
        parts = []
        for c in claims(rule):
            lhs, conds = c.lhs, [f for f in c.facts if f != Holds(c.lhs)]
            if isinstance(lhs, Var):
                for f in conds:
                    if isinstance(f, Eq) and f.left == lhs:
                        lhs, conds = f.right, [g for g in conds if g is not f]
                        break
            text = f"{show(lhs)} -> {show(c.rhs)}"
            shown = [f"{show(f.left)} == {show(f.right)}" if isinstance(f, Eq) else show(f.term)
                     for f in conds]
            parts.append(text + (f"  if {', '.join(shown)}" if shown else ""))
        return "; ".join(parts) or "(asserts no equality)"
    except Uncheckable as e:
        return f"({e})"
