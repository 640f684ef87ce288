"""The generic-form parser refuses what MLIR refuses."""

from __future__ import annotations

import pytest

from tteqsat.mlir_text.parser import MlirSyntaxError, parse_module

LOOP = '''module {
  "func.func"() <{function_type = () -> (), sym_name = "f"}> ({
    %c0 = "arith.constant"() <{value = 0 : index}> : () -> index
    %c1 = "arith.constant"() <{value = 1 : index}> : () -> index
    %a = "arith.addi"(%c0, %c1) : (index, index) -> index
    "scf.for"(%c0, %c1, %c1) ({
    ^bb0(%i: index):
      %INNER = "arith.addi"(%i, %c1) : (index, index) -> index
      "scf.yield"() : () -> ()
    }) : (index, index, index) -> ()
    "func.return"() : () -> ()
  }) : () -> ()
}
'''


def test_a_name_defined_once_per_scope_parses() -> None:
    parse_module(LOOP.replace("%INNER", "%b"))


@pytest.mark.parametrize("name", ["%a", "%c1", "%i"])
def test_redefining_a_visible_ssa_value_is_refused(name: str) -> None:
    with pytest.raises(MlirSyntaxError, match=f"redefinition of SSA value {name}"):
        parse_module(LOOP.replace("%INNER", name))


def test_functions_are_isolated_scopes() -> None:
    two = LOOP.replace("%INNER", "%b").replace('module {\n', 'module {\n' + LOOP.split("\n", 1)[1].rsplit("}", 1)[0])
    parse_module(two)  # %c0 in each function: no clash
