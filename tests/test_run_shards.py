"""`make test` runs the suite as one pytest process per CPU (tests/run_shards.py): every test file in exactly
one shard, the shards' measured seconds within one file of each other."""

from __future__ import annotations

from pathlib import Path

from run_shards import SECONDS, UNLISTED, shards

FILES = sorted(Path(__file__).resolve().parent.glob("test_*.py"))


def seconds(files: list[Path]) -> int:
    return sum(SECONDS.get(f.stem, UNLISTED) for f in files)


def test_every_test_file_runs_in_exactly_one_shard() -> None:
    for count in (1, 2, 3):
        parts = shards(FILES, count)
        assert len(parts) == count and sorted(f for p in parts for f in p) == FILES


def test_the_shards_are_balanced_by_measured_seconds() -> None:
    parts = shards(FILES, 2)
    longest = max(SECONDS.get(f.stem, UNLISTED) for f in FILES)
    assert abs(seconds(parts[0]) - seconds(parts[1])) <= longest


def test_every_listed_file_exists() -> None:
    assert set(SECONDS) <= {f.stem for f in FILES}  # a renamed file would silently count as UNLISTED
