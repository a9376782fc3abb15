"""The HTML report rendered by a real browser (headless Chromium), checked from its DOM.

`.ci/run` installs Debian's chromium when it is missing; on a developer machine without it the
test is skipped with a loud reason, and under CI (CI=true) it fails instead.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lab.analysis.noise import EnvironmentFacts, environment_warnings
from lab.report.formats import render
from lab.report.html import to_html
from lab.results.notices import notice
from tests import synthetic

BROWSERS = ("chromium", "chromium-browser", "google-chrome")

# Runs in the page after load: every table cell whose content is wider than the cell (text that
# spills out or is cut) and every cell whose number wrapped onto a second line, as JSON in the DOM.
CHECK = """
<script>
addEventListener('load', () => {
  const bad = [];
  for (const cell of document.querySelectorAll('td, th')) {
    if (cell.scrollWidth > cell.clientWidth + 1) bad.push('overflows: ' + cell.textContent.slice(0, 60));
    if (cell.classList.contains('num')) {
      // A row is as tall as its tallest cell, so count the text's own lines instead.
      const range = document.createRange();
      range.selectNodeContents(cell);
      const tops = new Set(Array.from(range.getClientRects()).map(r => Math.round(r.top)));
      if (tops.size > 1) bad.push('wraps: ' + cell.textContent);
    }
  }
  for (const svg of document.querySelectorAll('.chart svg')) {
    const box = svg.getBoundingClientRect();
    if (box.width < 400) bad.push('chart too narrow: ' + box.width);
  }
  const out = document.createElement('pre');
  out.id = 'dom-check';
  out.textContent = JSON.stringify(bad);
  document.body.appendChild(out);
});
</script>
"""


def browser() -> str | None:
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


@pytest.fixture
def chromium() -> str:
    found = browser()
    if found is None:
        message = (
            "headless Chromium is not installed, so the HTML report was NOT checked in a browser "
            "(apt-get install chromium; .ci/run installs it)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def dump_dom(chromium: str, page: Path, tmp_path: Path, width: int) -> str:
    profile = tmp_path / f"profile-{width}"
    done = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", f"--user-data-dir={profile}", f"--window-size={width},2000",
            "--virtual-time-budget=5000", "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def busy_report() -> tuple[str, list[str]]:
    """A report from a busy machine: machine, scenario and run warnings of several kinds."""
    noisy = synthetic.scenario(
        "noisy",
        "numeric",
        [
            synthetic.run("serial", 1, 100, spread=0.6, busy=1.2),
            synthetic.run("threads", 2, 100, spread=0.5),
            synthetic.run("processes", 2, 190, spread=0.4, busy=1.5),
        ],
    )
    report = synthetic.report(synthetic.numeric(), synthetic.http(), noisy)
    report.warnings = environment_warnings(
        EnvironmentFacts(
            governors=["powersave"], cpu_busy=0.6, load_average=3.2, swap_used=64 << 20
        )
    )
    report.scenarios[0].warnings.append(notice("page_cache", "The corpus sat in the page cache."))
    data = json.loads(render(report, "json"))
    messages = [w["message"] for w in data["warnings"]]
    for scenario in data["scenarios"]:
        messages += [w["message"] for w in scenario.get("warnings") or []]
        for run in scenario["runs"]:
            messages += [w["message"] for w in (run["summary"] or {}).get("warnings") or []]
    assert len(messages) >= 5, "the report must carry warnings of every scope to test"
    return to_html(report), messages


def text_of(dom: str) -> str:
    plain = re.sub(r"<(script|style)\b.*?</\1>", " ", dom, flags=re.S)
    plain = re.sub(r"<[^>]+>", " ", plain)
    return re.sub(r"\s+", " ", html.unescape(plain))


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 800])
def test_html_report_in_a_real_browser(chromium: str, tmp_path: Path, width: int) -> None:
    page_html, messages = busy_report()
    page = tmp_path / "report.html"
    page.write_text(page_html.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    dom = dump_dom(chromium, page, tmp_path, width)
    found = re.search(r'<pre id="dom-check">(.*?)</pre>', dom, flags=re.S)
    assert found, "the check script did not run in the browser"
    problems = json.loads(html.unescape(found.group(1)))
    assert problems == []
    text = text_of(dom)
    missing = [m for m in messages if re.sub(r"\s+", " ", m) not in text]
    assert missing == []
    for section in ("Machine", "Classic claims, on this machine", "Scaling fits"):
        assert section in text


def test_html_report_needs_no_emoji_font() -> None:
    page_html, _ = busy_report()
    assert not re.search("[\u2705\u274c\u2754\U0001f300-\U0001faff]", page_html)
    assert '<svg class="mark"' in page_html


def test_html_report_has_every_section_of_the_markdown() -> None:
    report = synthetic.report(synthetic.numeric(), synthetic.dispatch())
    page_html = to_html(report)
    markdown = render(report, "md")
    for heading in ("Machine", "Warnings", "Scaling"):
        assert heading in markdown and heading in page_html
    for fact in ("CPU", "governor", "caches", "Python", "libraries"):
        assert f"<th>{fact}</th>" in page_html
