"""The HTML report as a user sees it: rendered by headless Chromium, the DOM after layout holds the schedule
table, the timeline and the derivation, and the screenshot has them drawn where the layout put them.

Needs a Chromium binary (Debian: `apt-get install chromium`; `.ci/run` installs it). Without one the test is
skipped, unless TTEQSAT_REQUIRE_BROWSER=1 (CI sets it), when it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import load_example

import tteqsat as tq
from tteqsat.tools.html_report import LANES, write_html_report
from tteqsat.tools.rule_stats import derivation_of

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WIDTH = 1400
# Reads each part's box after layout into the DOM, so --dump-dom reports where the screenshot has it.
LAYOUT_SCRIPT = """<script>
const boxes = {};
for (const id of ["headline", "schedule", "timeline", "alternatives", "derivation"]) {
  const el = document.getElementById(id);
  if (el) { const r = el.getBoundingClientRect(); boxes[id] = [r.left + scrollX, r.top + scrollY, r.width, r.height]; }
}
boxes.page = [document.documentElement.scrollWidth, document.documentElement.scrollHeight];
const out = document.createElement("pre"); out.id = "layout"; out.textContent = JSON.stringify(boxes);
document.body.appendChild(out);
</script></body>"""


def browser() -> str:
    found = next((p for p in map(shutil.which, BROWSERS) if p), None)
    if found is None:
        if os.environ.get("TTEQSAT_REQUIRE_BROWSER") == "1":
            pytest.fail("TTEQSAT_REQUIRE_BROWSER=1 but no chromium is installed")
        pytest.skip("no chromium to render the report in (apt-get install chromium; .ci/run installs it)")
    return found


def chromium(exe: str, tmp: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
           f"--user-data-dir={tmp / 'profile'}", *args, url]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


def render(exe: str, report: Path, tmp: Path) -> tuple[str, dict[str, list[float]], object]:
    """The DOM after scripts (with the layout boxes) and the full-page screenshot as an RGB image."""
    from PIL import Image

    probe = tmp / f"{report.stem}_layout.html"
    probe.write_text(report.read_text().replace("</body>", LAYOUT_SCRIPT))
    dom = chromium(exe, tmp, probe.as_uri(), f"--window-size={WIDTH},1000", "--dump-dom").stdout
    boxes = json.loads(re.search(r'<pre id="layout">(.*?)</pre>', dom, re.S).group(1))
    height = int(boxes["page"][1])
    shot = tmp / f"{report.stem}.png"
    chromium(exe, tmp, report.as_uri(), f"--window-size={WIDTH},{height}", f"--screenshot={shot}")
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, height)
    return dom, boxes, image


def region(image, box: list[float]):
    x, y, w, h = box
    return image.crop((int(x), int(y), int(x + w), int(y + h)))


def ink(image) -> float:
    """Share of pixels darker than light gray: text and lines."""
    return float((np.asarray(image.convert("L")) < 160).mean())


def lane_pixels(image) -> dict[str, int]:
    """Pixels of each colored engine lane's color, within a small tolerance (sync+init is gray, like borders)."""
    pixels = np.asarray(image).astype(int)
    counts = {}
    for name, color in LANES:
        if name != "sync+init":
            rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
            counts[name] = int((np.abs(pixels - rgb).max(axis=-1) <= 12).sum())
    return counts


@pytest.fixture(scope="module")
def exe() -> str:
    return browser()


@pytest.fixture(scope="module")
def tight_ten_ops(exe: str):
    """ten_ops with L1 cut so the unfused baseline does not fit (an alternative with a reason) while the
    fused form does; its derivation takes about a second."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = tq.optimize(load_example("ten_ops"), overrides={"l1.bytes": 140576})
        return result, derivation_of(result)


def test_rendered_report_shows_schedule_timeline_and_derivation(tmp_path: Path, exe: str, tight_ten_ops) -> None:
    result, steps = tight_ten_ops
    report = write_html_report(result, tmp_path / "ten_ops.html", derivation=steps)
    dom, boxes, image = render(exe, report, tmp_path)

    # the DOM after layout: every part present, with the result's content
    schedule = re.search(r'<table id="schedule">(.*?)</table>', dom, re.S).group(1)
    assert schedule.count("<tr>") == len(result.schedule.sections) + 1
    assert "cycles per run" in schedule and "total cycles" in schedule
    for sec in result.schedule.sections:
        assert f"{sec.cycles:,.0f}" in schedule
    derivation = re.search(r'<table id="derivation">(.*?)</table>', dom, re.S).group(1)
    assert steps and derivation.count("<tr>") == len(steps) + 1
    assert all(f"<td>{s.rule}</td>" in derivation for s in steps)
    alternatives = re.search(r'<table id="alternatives">(.*?)</table>', dom, re.S).group(1)
    assert "does not fit" in alternatives and "needs 45,056 bytes of L1 for its CBs" in alternatives
    assert "does not apply" in alternatives  # streaming: nothing folds in ten_ops
    assert "the only form that fits" in dom and "the unfused baseline does not fit" in dom

    # the screenshot: each part drawn where the layout put it
    for part in ("schedule", "timeline", "derivation", "alternatives"):
        x, y, w, h = boxes[part]
        assert w > 100 and h > 40 and y + h <= image.height, part
    assert ink(region(image, boxes["schedule"])) > 0.03
    assert ink(region(image, boxes["derivation"])) > 0.03
    lanes = lane_pixels(region(image, boxes["timeline"]))
    busy = {name for name, n in lanes.items() if n > 30}
    assert {"unpack", "math_sfpu", "pack"} <= busy, lanes
    assert sum(lane_pixels(region(image, boxes["schedule"])).values()) == 0  # the colors are the timeline's


def test_the_pixel_check_sees_a_timeline_that_draws_nothing(tmp_path: Path, exe: str, tight_ten_ops) -> None:
    """The check above is not vacuous: the same report with the timeline's bars painted white fails it."""
    result, steps = tight_ten_ops
    report = write_html_report(result, tmp_path / "blank.html", derivation=steps)
    html = report.read_text()
    start, end = html.index('<svg xmlns="http://www.w3.org/2000/svg" id="timeline"'), html.index("</svg>")
    svg = re.sub(r'fill="#[0-9a-f]{6}"', 'fill="#ffffff"', html[start:end])
    report.write_text(html[:start] + svg + html[end:])
    _, boxes, image = render(exe, report, tmp_path)
    lanes = lane_pixels(region(image, boxes["timeline"]))
    assert max(lanes.values()) == 0, lanes
