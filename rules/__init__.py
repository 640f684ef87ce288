"""The rule library: one file per ruleset, one named rule per line with its identity as a comment."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from dataclasses import dataclass, replace
from pathlib import Path

from egglog import Ruleset, ruleset
from egglog.egraph import RewriteOrRule

from tteqsat.errors import KernelError
from tteqsat.frontend.loader import failure_in_file

STAGES = ("expand", "grow", "hardware")


@dataclass(frozen=True)
class Rule:
    """A rewrite with the name reports and explanations use."""

    name: str
    rewrite: RewriteOrRule


@dataclass(frozen=True)
class RuleSet:
    """Rules that run together in one saturation stage."""

    name: str
    description: str
    stage: str
    rules: tuple[Rule, ...]
    source: str = ""  # the user's rule file it was loaded from ("" for shipped and API-built rulesets)

    def __post_init__(self) -> None:
        """A rule given as a bare rewrite, or one Rule where a tuple goes, failed later inside the checker."""
        if not isinstance(self.rules, list | tuple) or not all(isinstance(r, Rule) for r in self.rules):
            got = type(self.rules).__name__ + _what(self.rules)
            raise KernelError(f"RuleSet '{self.name}': rules must be a tuple of tteqsat.rules.Rule(name, rewrite), "
                              f"got {got} (wrap each rewrite: Rule(\"my-rule\", rewrite(...).to(...)))")

    def egg(self) -> Ruleset:
        return ruleset(*(r.rewrite for r in self.rules), name=f"tteqsat_{self.name}")

    def without(self, rule_name: str) -> RuleSet:
        return replace(self, rules=tuple(r for r in self.rules if r.name != rule_name))


def _what(value: object) -> str:
    """` of Rule, int` for a list or tuple: what its items are."""
    if isinstance(value, list | tuple):
        return f" of {', '.join(sorted({type(v).__name__ for v in value})) or 'nothing'}"
    return ""


def check_unique_names(rulesets: list[RuleSet]) -> None:
    """Two rulesets of one name are one egglog ruleset (egglog panics), and two rules of one name are one row
    of the reports: refuse either, naming where each came from."""
    def where(rs: RuleSet) -> str:
        return f"in {rs.source}" if rs.source else "shipped" if rs in shipped_rulesets() else "passed in Python"

    seen: dict[str, RuleSet] = {}
    owner: dict[str, RuleSet] = {}
    for rs in rulesets:
        if rs.name in seen:
            raise KernelError(f"two rulesets are named '{rs.name}' ({where(seen[rs.name])} and {where(rs)}); "
                              "give yours a name of its own")
        seen[rs.name] = rs
        for r in rs.rules:
            if r.name in owner:
                first = owner[r.name]
                raise KernelError(f"two rules are named '{r.name}' (ruleset {first.name} {where(first)} and "
                                  f"ruleset {rs.name} {where(rs)}); give yours a name of its own")
            owner[r.name] = rs


def rule_identity(rule_name: str) -> str:
    """The identity comment written beside a shipped rule in its file (`Rule("name", ...),  # identity`)."""
    return _identities().get(rule_name, "")


_IDENTITY = re.compile(r'Rule\("([^"]+)".*#\s*(.+)$')


def _identities() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in SHIPPED:
        module = importlib.import_module(f"tteqsat.rules.{name}")
        for line in inspect.getsource(module).splitlines():
            m = _IDENTITY.search(line)
            if m:
                found[m.group(1)] = m.group(2).strip()
    return found


SHIPPED = ("softmax", "rowblocks", "algebra", "broadcast", "reductions", "vectors", "streaming", "masks", "hardware", "fusion")


def shipped_rulesets() -> list[RuleSet]:
    """The package's rulesets, in stage order."""
    return [importlib.import_module(f"tteqsat.rules.{m}").RULESET for m in SHIPPED]


def load_rule_file(path: str | Path) -> list[RuleSet]:
    """A user's rule file: a Python module defining `RULESET` (a RuleSet) or `RULESETS` (a list). The
    rulesets come back with `source` set to the file; checking them for soundness is the caller's step
    (`tteqsat.rulecheck.at_load`, which `tteqsat.optimize` runs)."""
    path = Path(path)
    if not path.is_file():
        raise KernelError(f"rule file {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"tteqsat_user_rules_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's file: report it as bad input, not a crash
        raise KernelError(f"rule file {failure_in_file(path, e)}") from None
    found = getattr(module, "RULESETS", None) or ([module.RULESET] if hasattr(module, "RULESET") else [])
    if not found:
        raise KernelError(f"rule file {path} defines no RULESET (a tteqsat.rules.RuleSet)")
    if not isinstance(found, list | tuple) or not all(isinstance(r, RuleSet) for r in found):
        name = "RULESETS" if hasattr(module, "RULESETS") else "RULESET"
        got = found if name == "RULESETS" else found[0]
        raise KernelError(f"rule file {path}: {name} is {type(got).__name__}{_what(got)}; RULESET must be one "
                          "tteqsat.rules.RuleSet(name, description, stage, (Rule(...), ...)), RULESETS a list of them")
    for rs in found:
        if rs.stage not in STAGES:
            raise KernelError(f"ruleset '{rs.name}' in {path} has unknown stage '{rs.stage}' ({', '.join(STAGES)})")
    return [replace(rs, source=str(path)) for rs in found]
