"""The long-key fuzz mode (`benchmarks/fuzz.py --keys long`, `tools.fuzzlong`) draws kernels that stream: a loop
over key chunks with sections one trip ahead, and the cases it draws pass. Its campaigns are in
benchmarks/README.md."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from tteqsat.tools.fuzz import VERIFIED, Outcome, run_case
from tteqsat.tools.fuzzcase import to_source
from tteqsat.tools.fuzzlong import long_cases


def test_long_key_kernels_stream_pipelined_and_pass() -> None:
    seen: list[Outcome] = []

    @settings(max_examples=4, derandomize=True, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(long_cases(keys=(256, 512), batches=((), (2,)), forms=("streaming",), kinds=("attention",)))
    def one(case) -> None:
        outcome = run_case(case)
        assert not outcome.failed, f"{outcome.category}: {outcome.detail}\n\nrepro:\n{to_source(case)}"
        seen.append(outcome)

    one()
    paths = [o.paths for o in seen if o.category in VERIFIED]
    assert len(paths) == 4 and all("loop over chunks" in p for p in paths), seen
    assert any("sections one trip ahead" in p for p in paths), seen
