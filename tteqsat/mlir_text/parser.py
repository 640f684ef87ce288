"""Parser for the generic-form MLIR subset of docs/mlir-subset.md.

Hand-written on purpose: the simulator must not depend on xdsl (a test-only dependency), and
the subset is small. The lexer turns dialect types and attributes (``!ttkernel.cb<...>``,
``#ttkernel.thread<noc>``) into single tokens by matching their angle brackets, so the
parser never has to understand dialect-specific syntax. Anything outside the subset raises
`MlirSyntaxError` naming the line.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

from tteqsat.mlir_text.ir import (
    Attr,
    Block,
    DenseArrayAttr,
    EnumAttr,
    FloatAttr,
    IntAttr,
    Module,
    Op,
    OpaqueAttr,
    TypeAttr,
)


class MlirSyntaxError(Exception):
    """Text outside the generic-form subset; the message starts with ``line N:``."""


_BUILTIN_TYPES = frozenset(
    {"index", "i1", "i8", "i16", "i32", "i64", "si32", "ui32", "f16", "bf16", "f32", "f64", "none"}
)
_FLOAT_TYPES = frozenset({"f16", "bf16", "f32", "f64"})

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+)
  | (?P<nl>\n)
  | (?P<comment>//[^\n]*)
  | (?P<arrow>->)
  | (?P<float>-?\d+\.\d*(?:[eE][+-]?\d+)?|-?\d+[eE][+-]?\d+)
  | (?P<int>-?0x[0-9a-fA-F]+|-?\d+)
  | (?P<value>%[A-Za-z0-9_$.\-]+)
  | (?P<block>\^[A-Za-z0-9_$.\-]+)
  | (?P<sym>@[A-Za-z0-9_$.\-]+)
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<dialect>[!\#][A-Za-z_][A-Za-z0-9_$.]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$.]*)
  | (?P<punct>[(){}\[\]<>,:=])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    line: int


def _match_angle(text: str, start: int, line: int) -> tuple[int, int]:
    """Return (end, lines_consumed) of the ``<...>`` group starting at ``start``."""
    depth = 0
    i = start
    newlines = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "\n":
            newlines += 1
        elif ch == "<":
            depth += 1
        elif ch == ">" and not (i > 0 and text[i - 1] == "-"):
            depth -= 1
            if depth == 0:
                return i + 1, newlines
        i += 1
    raise MlirSyntaxError(f"line {line}: parser: unterminated '<' in dialect type or attribute")


def tokenize(text: str) -> list[Token]:
    """Split MLIR text into tokens, each tagged with its 1-based line."""
    tokens: list[Token] = []
    pos = 0
    line = 1
    n = len(text)
    while pos < n:
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            raise MlirSyntaxError(f"line {line}: parser: unexpected character {text[pos]!r}")
        kind = m.lastgroup or ""
        end = m.end()
        if kind == "nl":
            line += 1
        elif kind in ("ws", "comment"):
            pass
        elif kind == "dialect":
            if end < n and text[end] == "<":
                end, newlines = _match_angle(text, end, line)
                tokens.append(Token("dialect", " ".join(text[pos:end].split()), line))
                line += newlines
            else:
                tokens.append(Token("dialect", text[pos:end], line))
        else:
            tokens.append(Token(kind, m.group(kind), line))
        pos = end
    tokens.append(Token("eof", "", line))
    return tokens


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in '"\\':
                out.append(nxt)
                i += 2
                continue
            if nxt == "n":
                out.append("\n")
                i += 2
                continue
            hexpair = body[i + 1 : i + 3]
            if len(hexpair) == 2 and all(c in "0123456789abcdefABCDEF" for c in hexpair):
                out.append(chr(int(hexpair, 16)))
                i += 3
                continue
        out.append(ch)
        i += 1
    return "".join(out)


_ENUM_RE = re.compile(r"^#([A-Za-z_][A-Za-z0-9_$.]*)<\s*([A-Za-z_][A-Za-z0-9_]*)\s*>$")


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokenize(text)
        self.i = 0
        self.scopes: list[set[str]] = [set()]  # SSA names visible here: one set per enclosing region

    # -- token helpers -------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def error(self, message: str, tok: Token | None = None) -> MlirSyntaxError:
        t = tok or self.tok
        shown = t.text if t.kind != "eof" else "end of input"
        return MlirSyntaxError(f"line {t.line}: parser: {message} (at {shown!r})")

    def at(self, text: str) -> bool:
        t = self.tok
        return t.text == text and t.kind in ("punct", "arrow", "ident")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise self.error(f"expected {text!r}")
        t = self.tok
        self.i += 1
        return t

    def expect_kind(self, kind: str, what: str) -> Token:
        t = self.tok
        if t.kind != kind:
            raise self.error(f"expected {what}")
        self.i += 1
        return t

    # -- module --------------------------------------------------------------------------
    def parse_module(self) -> Module:
        start = self.tok
        if not (self.accept("module") or self.accept("builtin.module")):
            raise self.error("expected 'module'")
        if self.tok.kind == "sym":
            self.i += 1
        attrs: dict[str, Attr] = {}
        if self.accept("attributes"):
            attrs = self.parse_attr_dict()
        self.expect("{")
        ops: list[Op] = []
        while not self.at("}"):
            if self.tok.kind == "eof":
                raise self.error("unterminated module body")
            ops.append(self.parse_op())
        self.expect("}")
        if self.tok.kind != "eof":
            raise self.error("unexpected text after the module")
        return Module(attrs, ops, start.line)

    # -- ops -----------------------------------------------------------------------------
    def parse_op(self) -> Op:
        first = self.tok
        results: list[str] = []
        if first.kind == "value":
            results.append(self.tok.text)
            self.i += 1
            while self.accept(","):
                results.append(self.expect_kind("value", "a result name").text)
            self.expect("=")
        name_tok = self.tok
        if name_tok.kind != "str":
            raise self.error("expected a generic op name in quotes (only the generic op form is supported)")
        self.i += 1
        name = _unquote(name_tok.text)
        self.expect("(")
        operands: list[str] = []
        if not self.at(")"):
            operands.append(self.expect_kind("value", "an operand").text)
            while self.accept(","):
                operands.append(self.expect_kind("value", "an operand").text)
        self.expect(")")
        if self.at("["):
            raise self.error("successor lists are not supported")
        props: dict[str, Attr] = {}
        if self.at("<"):
            self.i += 1
            props = self.parse_attr_dict()
            self.expect(">")
        regions: list[Block] = []
        if self.at("(") and self.toks[self.i + 1].text == "{":
            self.i += 1
            outer = self.scopes
            if name == "func.func":  # isolated from above: its body sees none of the enclosing names
                self.scopes = [set()]
            regions.append(self.parse_region())
            while self.accept(","):
                regions.append(self.parse_region())
            self.scopes = outer
            self.expect(")")
        attrs: dict[str, Attr] = {}
        if self.at("{"):
            attrs = self.parse_attr_dict()
        self.expect(":")
        operand_types, result_types = self.parse_function_type()
        if len(operand_types) != len(operands):
            raise self.error(
                f"{name}: {len(operands)} operands but {len(operand_types)} operand types", name_tok
            )
        if len(result_types) != len(results):
            raise self.error(f"{name}: {len(results)} results but {len(result_types)} result types", name_tok)
        for r in results:
            self.define(r, first)
        return Op(name, results, operands, operand_types, result_types, props, attrs, regions, first.line)

    def define(self, value: str, where: Token) -> None:
        """MLIR refuses a name already visible: one defined earlier in this region or an enclosing one."""
        if any(value in scope for scope in self.scopes):
            raise self.error(f"redefinition of SSA value {value}", where)
        self.scopes[-1].add(value)

    def parse_region(self) -> Block:
        self.expect("{")
        self.scopes.append(set())
        args: list[tuple[str, str]] = []
        if self.tok.kind == "block":
            self.i += 1
            if self.accept("("):
                if not self.at(")"):
                    args.append(self.parse_block_arg())
                    while self.accept(","):
                        args.append(self.parse_block_arg())
                self.expect(")")
            self.expect(":")
        ops: list[Op] = []
        while not self.at("}"):
            if self.tok.kind == "block":
                raise self.error("regions with more than one block are not supported")
            if self.tok.kind == "eof":
                raise self.error("unterminated region")
            ops.append(self.parse_op())
        self.expect("}")
        self.scopes.pop()
        return Block(args, ops)

    def parse_block_arg(self) -> tuple[str, str]:
        tok = self.tok
        name = self.expect_kind("value", "a block argument").text
        self.define(name, tok)
        self.expect(":")
        return name, self.parse_type()

    # -- types ---------------------------------------------------------------------------
    def parse_type(self) -> str:
        t = self.tok
        if t.kind == "dialect" and t.text.startswith("!"):
            self.i += 1
            return t.text
        if t.kind == "ident" and t.text in _BUILTIN_TYPES:
            self.i += 1
            return t.text
        if self.at("("):
            ins, outs = self.parse_function_type()
            return _format_function_type(ins, outs)
        raise self.error("expected a type")

    def parse_type_list_parens(self) -> list[str]:
        self.expect("(")
        types: list[str] = []
        if not self.at(")"):
            types.append(self.parse_type())
            while self.accept(","):
                types.append(self.parse_type())
        self.expect(")")
        return types

    def parse_function_type(self) -> tuple[list[str], list[str]]:
        ins = self.parse_type_list_parens()
        self.expect("->")
        if self.at("("):
            outs = self.parse_type_list_parens()
        else:
            outs = [self.parse_type()]
        return ins, outs

    # -- attributes ----------------------------------------------------------------------
    def parse_attr_dict(self) -> dict[str, Attr]:
        self.expect("{")
        out: dict[str, Attr] = {}
        if self.accept("}"):
            return out
        while True:
            key_tok = self.tok
            if key_tok.kind == "ident":
                key = key_tok.text
            elif key_tok.kind == "str":
                key = _unquote(key_tok.text)
            else:
                raise self.error("expected an attribute name")
            self.i += 1
            out[key] = self.parse_attr_value() if self.accept("=") else True
            if self.accept("}"):
                return out
            self.expect(",")

    def parse_attr_value(self) -> Attr:
        t = self.tok
        if t.kind == "str":
            self.i += 1
            return _unquote(t.text)
        if t.kind in ("int", "float"):
            self.i += 1
            ty = self.parse_type() if self.accept(":") else ("i64" if t.kind == "int" else "f64")
            return _number_attr(t, ty)
        if t.kind == "ident" and t.text in ("true", "false"):
            self.i += 1
            return t.text == "true"
        if t.kind == "ident" and t.text == "unit":
            self.i += 1
            return True
        if t.kind == "ident" and t.text == "array" and self.toks[self.i + 1].text == "<":
            return self.parse_dense_array()
        if self.at("["):
            self.i += 1
            items: list[Attr] = []
            if not self.at("]"):
                items.append(self.parse_attr_value())
                while self.accept(","):
                    items.append(self.parse_attr_value())
            self.expect("]")
            return items
        if self.at("{"):
            return self.parse_attr_dict()
        if t.kind == "dialect" and t.text.startswith("#"):
            self.i += 1
            m = _ENUM_RE.match(t.text)
            return EnumAttr(m.group(1), m.group(2)) if m else OpaqueAttr(t.text)
        if (
            (t.kind == "dialect" and t.text.startswith("!"))
            or self.at("(")
            or (t.kind == "ident" and t.text in _BUILTIN_TYPES)
        ):
            return TypeAttr(self.parse_type())
        raise self.error("unsupported attribute value")

    def parse_dense_array(self) -> DenseArrayAttr:
        """``array<i32: 1, 1, 0>`` or the empty ``array<i32>``."""
        self.i += 1
        self.expect("<")
        ty = self.tok
        if ty.kind != "ident" or ty.text not in _BUILTIN_TYPES or ty.text in _FLOAT_TYPES:
            raise self.error("expected an integer element type in array<...>")
        self.i += 1
        values: list[int] = []
        if self.accept(":"):
            values.append(int(self.expect_kind("int", "an integer").text, 0))
            while self.accept(","):
                values.append(int(self.expect_kind("int", "an integer").text, 0))
        self.expect(">")
        return DenseArrayAttr(ty.text, tuple(values))


def _number_attr(tok: Token, ty: str) -> Attr:
    text = tok.text
    if ty in _FLOAT_TYPES:
        if tok.kind == "int" and text.lower().lstrip("-").startswith("0x"):
            bits = int(text, 16) & 0xFFFFFFFF
            return FloatAttr(struct.unpack("<f", struct.pack("<I", bits))[0], ty)
        return FloatAttr(float(text), ty)
    if tok.kind == "float":
        raise MlirSyntaxError(f"line {tok.line}: parser: float literal {text} with non-float type {ty}")
    return IntAttr(int(text, 0) if "x" in text.lower() else int(text), ty)


def _format_function_type(ins: list[str], outs: list[str]) -> str:
    out = outs[0] if len(outs) == 1 and not outs[0].startswith("(") else f"({', '.join(outs)})"
    return f"({', '.join(ins)}) -> {out}"


def parse_module(text: str) -> Module:
    """Parse a module in the generic-form subset; raises `MlirSyntaxError` on anything else."""
    return _Parser(text).parse_module()
