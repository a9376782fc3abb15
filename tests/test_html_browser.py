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
from lab.report.formats import render, render_fleet
from lab.report.html import to_html
from lab.results.model import Report
from lab.results.notices import notice
from tests import synthetic
from tests.fleet_fixtures import fleet_of, slower

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
    report, messages = busy_report_data()
    return to_html(report), messages


def busy_report_data() -> tuple[Report, list[str]]:
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
    return report, messages


def busy_fleet() -> tuple[str, list[str]]:
    """A fleet report of two busy hosts (the second 1.4x slower, with a warning of its own)
    and a third lost mid-run; every warning of either host must reach the page."""
    first, messages = busy_report_data()
    second, _ = busy_report_data()
    second.machine = {**second.machine, "hostname": "old-box", "cpu_model": "Old CPU"}
    slower(second, 1.4)
    only_second = "old-box's disk was nearly full during the corpus scenario."
    second.scenarios[0].warnings.append(notice("page_cache", only_second))
    return render_fleet(fleet_of(first, second, "127.0.0"), "html"), [*messages, only_second]


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


@pytest.mark.slow
def test_fleet_html_report_in_a_real_browser(chromium: str, tmp_path: Path) -> None:
    page_html, messages = busy_fleet()
    page = tmp_path / "fleet.html"
    page.write_text(page_html.replace("</body>", CHECK + "</body>"), encoding="utf-8")
    dom = dump_dom(chromium, page, tmp_path, 1280)
    found = re.search(r'<pre id="dom-check">(.*?)</pre>', dom, flags=re.S)
    assert found, "the check script did not run in the browser"
    assert json.loads(html.unescape(found.group(1))) == []
    text = text_of(dom)
    assert [m for m in messages if re.sub(r"\s+", " ", m) not in text] == []
    assert "Host 127.0.0.2" in text and "Host 127.0.0.3" in text


def test_fleet_html_has_each_hosts_full_report_nested_under_it() -> None:
    page_html, _ = busy_fleet()
    ids = re.findall(r'\bid="([^"]+)"', page_html)
    assert len(ids) == len(set(ids)), "two hosts' sections share an id"
    for number in (1, 2):  # the lost third host has no report
        after = page_html.split(f'<section id="host-{number}"', 1)[1]
        host = re.split(r'<section id="host-|<section><h2>How to read', after, maxsplit=1)[0]
        for section in ("machine", "claims", "s-numeric_crunching"):
            assert f'id="h{number}-{section}"' in host
        assert "<h3>Machine</h3>" in host and "<h4>Results</h4>" in host
        assert "<h2>" not in host.split("</h2>", 1)[1]  # only the host's own heading is an h2
        assert "<svg" in host  # its charts
    assert 'id="host-3"' not in page_html


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
