"""Options several commands share: --set KEY=VALUE (arch overrides), --rules FILE and --no-check-rules."""

from __future__ import annotations

import argparse
import json

from tteqsat.errors import KernelError


def parse_set(text: str) -> tuple[str, object]:
    """`--set KEY=VALUE`: the value as JSON when it parses (numbers, booleans), else the string."""
    if "=" not in text:
        raise KernelError(f"--set {text!r}: expected KEY=VALUE, e.g. sfpu.exp=560")
    key, value = text.split("=", 1)
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_set_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", action="append", metavar="KEY=VALUE",
                        help="override an arch value, e.g. sfpu.exp=560 (repeatable)")


def add_rule_options(parser: argparse.ArgumentParser) -> None:
    """--rules FILE (repeatable) and --no-check-rules, for every command that optimizes."""
    parser.add_argument("--rules", action="append", metavar="FILE",
                        help="load extra rulesets from a Python file (repeatable); each rule is random-tested for "
                             "soundness first and an unsound one is refused with its counterexample")
    parser.add_argument("--no-check-rules", action="store_true",
                        help="load --rules files without the soundness check")
