"""``#ttkernel.arg_spec``: where each compile-time and runtime argument of a kernel comes from.

tt-mlir main (TTKernelOpsTypes.td, ``ArgSpecAttr``) puts this attribute on every kernel ``func.func``. Position
``k`` of ``ct_args`` is ``get_compile_time_arg_val`` index ``k``; ``rt_args`` entries that are uniform are the
common runtime args (``get_common_arg_val``), the others the per-core runtime args (``get_arg_val``), each list
counted separately. ``operand_index`` names the host-side operand: the CB port for ``cb_port``, the tensor for
``buffer_address`` and ``tensor_accessor_args``. A ``tensor_accessor_args`` entry stands for a block of
compile-time words on the host (two for an interleaved tensor) and must come after every other ``ct_args``
entry, so only the first one's position is a compile-time argument index.

The printed form is tt-mlir's: ``#ttkernel.arg_spec<rt_args = [<arg_type = buffer_address, operand_index = 0>]
ct_args = [<arg_type = cb_port, operand_index = 0>]>`` (no comma between the lists; a spec with only ``ct_args``
prints as ``#ttkernel.arg_spec< ct_args = [...]>``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ARG_TYPES = (
    "cb_port", "buffer_address", "local_semaphore", "named_argument", "global_semaphore", "scalar",
    "tensor_accessor_args",
)
_ENTRY_RE = re.compile(r"<\s*([^<>]*?)\s*>")
_FIELD_RE = re.compile(r'^\s*(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[\w.-]+)\s*$')
_LIST_RE = re.compile(r"\b(rt_args|ct_args)\s*=\s*\[")


@dataclass(frozen=True)
class ArgEntry:
    """One kernel argument: what it is (``arg_type``) and which host operand it comes from."""

    arg_type: str
    operand_index: int
    is_uniform: bool = True
    argument_name: str = ""

    def print(self) -> str:
        extra = "" if self.is_uniform else ", is_uniform = false"
        name = f', argument_name = "{self.argument_name}"' if self.argument_name else ""
        return f"<arg_type = {self.arg_type}, operand_index = {self.operand_index}{extra}{name}>"


@dataclass(frozen=True)
class ArgSpec:
    """The ``rt_args`` and ``ct_args`` lists of one kernel."""

    rt_args: tuple[ArgEntry, ...] = ()
    ct_args: tuple[ArgEntry, ...] = ()

    def print(self) -> str:
        parts = []
        if self.rt_args:
            parts.append("rt_args = [" + ", ".join(e.print() for e in self.rt_args) + "]")
        if self.ct_args:
            parts.append("ct_args = [" + ", ".join(e.print() for e in self.ct_args) + "]")
        body = " ".join(parts)
        return f"#ttkernel.arg_spec<{' ' if not self.rt_args else ''}{body}>"

    @property
    def common_args(self) -> tuple[ArgEntry, ...]:
        """Uniform runtime args, in ``get_common_arg_val`` order."""
        return tuple(e for e in self.rt_args if e.is_uniform)

    @property
    def per_core_args(self) -> tuple[ArgEntry, ...]:
        """Per-core runtime args, in ``get_arg_val`` order."""
        return tuple(e for e in self.rt_args if not e.is_uniform)

    def problems(self) -> list[str]:
        """What tt-mlir's verifier would reject: unknown arg types, accessor entries not last."""
        out = [f"unknown arg_type {e.arg_type!r} (one of {', '.join(ARG_TYPES)})"
               for e in (*self.rt_args, *self.ct_args) if e.arg_type not in ARG_TYPES]
        kinds = [e.arg_type == "tensor_accessor_args" for e in self.ct_args]
        if any(kinds) and not all(kinds[kinds.index(True):]):
            out.append("tensor_accessor_args entries must be the last ct_args")
        return out


def parse_arg_spec(text: str) -> ArgSpec:
    """Read the printed ``#ttkernel.arg_spec<...>``; raises ValueError naming what is malformed."""
    text = text.strip()
    if not (text.startswith("#ttkernel.arg_spec<") and text.endswith(">")):
        raise ValueError(f"not a #ttkernel.arg_spec attribute: {text[:60]!r}")
    body = text[len("#ttkernel.arg_spec<"):-1]
    lists: dict[str, tuple[ArgEntry, ...]] = {}
    pos = 0
    for m in _LIST_RE.finditer(body):
        if body[pos:m.start()].strip():
            raise ValueError(f"unexpected text {body[pos:m.start()].strip()!r} in #ttkernel.arg_spec")
        end = body.find("]", m.end())
        if end < 0:
            raise ValueError(f"unterminated {m.group(1)} list in #ttkernel.arg_spec")
        if m.group(1) in lists:
            raise ValueError(f"{m.group(1)} given twice in #ttkernel.arg_spec")
        lists[m.group(1)] = _entries(body[m.end():end], m.group(1))
        pos = end + 1
    if body[pos:].strip():
        raise ValueError(f"unexpected text {body[pos:].strip()!r} in #ttkernel.arg_spec")
    return ArgSpec(lists.get("rt_args", ()), lists.get("ct_args", ()))


def _entries(text: str, where: str) -> tuple[ArgEntry, ...]:
    out: list[ArgEntry] = []
    rest = _ENTRY_RE.sub("", text).replace(",", "").strip()
    if rest:
        raise ValueError(f"{where}: unexpected text {rest!r} (entries are <arg_type = ..., operand_index = N>)")
    for m in _ENTRY_RE.finditer(text):
        fields: dict[str, str] = {}
        for item in m.group(1).split(","):
            f = _FIELD_RE.match(item)
            if f is None:
                raise ValueError(f"{where}: malformed field {item.strip()!r}")
            fields[f.group(1)] = f.group(2)
        unknown = set(fields) - {"arg_type", "operand_index", "is_uniform", "argument_name"}
        if unknown or "arg_type" not in fields or "operand_index" not in fields:
            raise ValueError(f"{where}: entry <{m.group(1)}> needs arg_type and operand_index"
                             + (f" (unknown {', '.join(sorted(unknown))})" if unknown else ""))
        try:
            index = int(fields["operand_index"])
        except ValueError:
            raise ValueError(f"{where}: operand_index {fields['operand_index']!r} is not an integer") from None
        uniform = fields.get("is_uniform", "true")
        if uniform not in ("true", "false"):
            raise ValueError(f"{where}: is_uniform must be true or false, got {uniform!r}")
        name = fields.get("argument_name", '""')
        out.append(ArgEntry(fields["arg_type"], index, uniform == "true", name.strip('"')))
    return tuple(out)
