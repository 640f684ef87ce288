"""In-memory form of the generic-MLIR subset (docs/mlir-subset.md).

The parser produces these plain dataclasses; the interpreter and the C++ translator both
consume them, so nothing here knows about semantics. Attribute values are kept typed
(`IntAttr` remembers ``: i32``) because the C++ translator needs the types while the
simulator only needs the values.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class IntAttr:
    """``3 : i32``; ``type`` defaults to ``i64`` when the text gives none."""

    value: int
    type: str


@dataclass(frozen=True, slots=True)
class FloatAttr:
    """``1.5 : f32`` (or a hex bit pattern with a float type)."""

    value: float
    type: str


@dataclass(frozen=True, slots=True)
class EnumAttr:
    """``#ttkernel.reduce_type<reduce_max>`` -> kind ``ttkernel.reduce_type``, value ``reduce_max``."""

    kind: str
    value: str


@dataclass(frozen=True, slots=True)
class TypeAttr:
    """A type used as an attribute value, e.g. ``function_type = () -> ()``."""

    type: str


@dataclass(frozen=True, slots=True)
class DenseArrayAttr:
    """``array<i32: 1, 1, 0>`` (e.g. ``operandSegmentSizes``): element type and values."""

    type: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class OpaqueAttr:
    """A dialect attribute the simulator does not interpret (kept verbatim)."""

    text: str


Attr = IntAttr | FloatAttr | EnumAttr | TypeAttr | DenseArrayAttr | OpaqueAttr | bool | str | list | dict


@dataclass(slots=True)
class Block:
    """One block: its arguments as ``(ssa_name, type)`` and its ops in order."""

    args: list[tuple[str, str]]
    ops: list[Op]


@dataclass(slots=True)
class Op:
    """A generic-form operation; ``line`` is the 1-based line of its first token."""

    name: str
    results: list[str]
    operands: list[str]
    operand_types: list[str]
    result_types: list[str]
    properties: dict[str, Attr] = field(default_factory=dict)
    attributes: dict[str, Attr] = field(default_factory=dict)
    regions: list[Block] = field(default_factory=list)
    line: int = 0

    def attr(self, key: str, default: Attr | None = None) -> Attr | None:
        """Look a key up in the properties, then the discardable attributes."""
        if key in self.properties:
            return self.properties[key]
        return self.attributes.get(key, default)


@dataclass(slots=True)
class Module:
    """The top-level ``module``: its attribute dictionary and its ops (normally func.func)."""

    attributes: dict[str, Attr]
    ops: list[Op]
    line: int = 1

    def funcs(self) -> list[Op]:
        """The ``func.func`` ops in textual order."""
        return [op for op in self.ops if op.name == "func.func"]


def func_name(func: Op) -> str:
    """The ``sym_name`` of a ``func.func`` op."""
    name = func.attr("sym_name")
    return name if isinstance(name, str) else "<anonymous>"


def func_body(func: Op) -> Block:
    """The single body block of a ``func.func`` op."""
    return func.regions[0] if func.regions else Block([], [])


# fp32 scalars travel as the bit pattern of an i32 attribute or argument
def bits_to_f32(bits: int) -> float:
    """Interpret the low 32 bits of an integer as an IEEE float32 (for fp32-bit-pattern params)."""
    return struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0]


def f32_to_bits(value: float) -> int:
    """The IEEE float32 bit pattern of ``value`` as an unsigned integer."""
    return struct.unpack("<I", struct.pack("<f", value))[0]


def print_attr(attr: Attr) -> str:
    """An attribute value as generic MLIR prints it (``1 : i32``, ``#ttkernel.reduce_type<reduce_max>``, ...).

    Integers keep their type except MLIR's default ``i64``; used to check properties against tt-mlir's
    signature table, which compares printed spellings.
    """
    if isinstance(attr, bool):
        return "true" if attr else "false"
    if isinstance(attr, IntAttr):
        return str(attr.value) if attr.type == "i64" else f"{attr.value} : {attr.type}"
    if isinstance(attr, FloatAttr):
        return f"{attr.value!r} : {attr.type}"
    if isinstance(attr, EnumAttr):
        return f"#{attr.kind}<{attr.value}>"
    if isinstance(attr, TypeAttr):
        return attr.type
    if isinstance(attr, DenseArrayAttr):
        return f"array<{attr.type}: {', '.join(str(v) for v in attr.values)}>" if attr.values else \
            f"array<{attr.type}>"
    if isinstance(attr, OpaqueAttr):
        return attr.text
    if isinstance(attr, str):
        return '"' + attr.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(attr, list):
        return "[" + ", ".join(print_attr(a) for a in attr) + "]"
    return "{" + ", ".join(f"{k} = {print_attr(v)}" for k, v in attr.items()) + "}"
