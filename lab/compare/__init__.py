"""`concurrency-lab compare A.json B.json [...]`: the same runs side by side, and a CI gate.

The first report is the baseline; every other report is compared with it run by run, matched
on (scenario, executor, workers, a sweep's values). For each matched run: both medians, the
time ratio B/A with its 95% interval and a two-sided Mann-Whitney U test on the repeat times
(lab.core.stats). Runs that cannot be compared (only in one report, failed, or a workload with
other settings) are listed with the reason, never dropped. `--fail-if-slower PCT` exits 1 when any matched run is
significantly slower than the baseline by more than PCT percent.
"""

from lab.compare.load import CompareError, load_report
from lab.compare.main import EXIT_INCONCLUSIVE, EXIT_SLOWER, build_parser, main
from lab.compare.matching import Matched, PairComparison, Unmatched, compare_reports
from lab.compare.render import COMPARE_SCHEMA_ID, gate_failed, render_json, render_markdown
from lab.core.exit_codes import EXIT_BAD_INPUT, EXIT_OK

__all__ = [
    "COMPARE_SCHEMA_ID",
    "EXIT_BAD_INPUT",
    "EXIT_INCONCLUSIVE",
    "EXIT_OK",
    "EXIT_SLOWER",
    "CompareError",
    "Matched",
    "PairComparison",
    "Unmatched",
    "build_parser",
    "compare_reports",
    "gate_failed",
    "load_report",
    "main",
    "render_json",
    "render_markdown",
]
