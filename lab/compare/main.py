"""`concurrency-lab compare`'s command line: arguments, exit codes, output."""

from __future__ import annotations

import argparse
import math
import sys

from lab.compare.load import CompareError, load_reports
from lab.compare.matching import PairComparison, compare_reports
from lab.compare.render import (
    NOTHING_MATCHED,
    gate_failed,
    gate_inconclusive,
    render_json,
    render_markdown,
)
from lab.core.exit_codes import EXIT_BAD_INPUT, EXIT_OK
from lab.core.textsafe import map_strings, markdown_text, safe_text

EXIT_SLOWER, EXIT_INCONCLUSIVE = 1, 3  # compare's own: a regression, a run it cannot judge

EPILOG = """\
The first report is the baseline. A fleet report (--fleet) stands for its hosts' reports, in
the fleet's order, named FLEET.json[HOST]: `compare fleet.json` compares every host with the
first one, `compare before.json fleet.json` every host with before.json. Runs are matched by scenario, executor and worker count;
a difference is significant when a two-sided Mann-Whitney U test on the repeat times gives
p < 0.05 after Holm-Bonferroni over the matched runs of a report (at least 4 repeats per side
are needed). Runs that cannot be matched are listed.

exit codes:
  0  no matched run is significantly slower by more than PCT (or no gate was asked for)
  1  --fail-if-slower: some matched run is significantly slower by more than PCT
  2  bad input: a file is missing, not JSON, not a concurrency-lab report, or no run matched
  3  --fail-if-slower: some matched run cannot be judged (too few repeats, or disturbed by
     other programs without a significant difference; with --strict also a run whose 95%
     interval cannot rule out a PCT slowdown); --allow-inconclusive accepts that

examples:
  concurrency-lab compare before.json after.json
  concurrency-lab compare main.json branch.json --fail-if-slower 5
  concurrency-lab compare py311.json py312.json py313.json --format json
  concurrency-lab compare fleet.json                the hosts of a fleet run, against the first
"""


def _percentage(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage such as 5") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage such as 5")
    if value < 0:
        raise argparse.ArgumentTypeError("the percentage cannot be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="concurrency-lab compare",
        description="Compare reports run by run: two machines, two Python versions or two "
        "commits. The first report is the baseline.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "reports",
        nargs="+",
        metavar="REPORT.json",
        help="JSON reports; a fleet report counts as its hosts' reports",
    )
    parser.add_argument(
        "--fail-if-slower",
        type=_percentage,
        metavar="PCT",
        help="exit 1 when a matched run is significantly slower than the baseline by more than "
        "PCT percent",
    )
    parser.add_argument(
        "--allow-inconclusive",
        action="store_true",
        help="with --fail-if-slower: exit 0 rather than 3 when some matched run cannot be "
        "judged (too few repeats, or disturbed)",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="with --fail-if-slower: a run passes only when its 95%% interval rules out a PCT "
        "slowdown; a run too noisy to tell counts as inconclusive (exit 3)",
    )
    parser.add_argument(
        "--format", choices=("md", "json"), default="md", help="output format (default: md)"
    )
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        reports = [pair for path in args.reports for pair in load_reports(path)]
    except CompareError as exc:
        print(f"concurrency-lab compare: {safe_text(str(exc), one_line=True)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if len(reports) < 2:
        parser.print_usage(sys.stderr)
        print(
            "concurrency-lab compare: give at least two reports (a fleet report counts as one "
            "per host that gave a report)",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.format == "md":
        # Reports and their file names are untrusted: every string a Markdown table cell,
        # controls and bidi characters escaped, before anything is matched or rendered.
        reports = map_strings(reports, markdown_text)
    (a_name, a), *others = reports
    pairs = [compare_reports(a, b, a_name, b_name) for b_name, b in others]
    render = render_json if args.format == "json" else render_markdown
    sys.stdout.write(safe_text(render(reports, pairs, args.fail_if_slower, args.strict)))
    sys.stdout.flush()
    code = exit_code(pairs, args.fail_if_slower, args.allow_inconclusive, args.strict)
    for pair in pairs:
        if not pair.matched:
            name = safe_text(pair.b_name, one_line=True)
            print(f"concurrency-lab compare: {name}: {NOTHING_MATCHED}", file=sys.stderr)
    if code == EXIT_INCONCLUSIVE:
        print(
            "concurrency-lab compare: the gate cannot tell: some matched runs cannot be judged "
            "(listed above); rerun with more repeats on a quiet machine, or pass "
            "--allow-inconclusive",
            file=sys.stderr,
        )
    return code


def exit_code(
    pairs: list[PairComparison], pct: float | None, allow_inconclusive: bool, strict: bool = False
) -> int:
    """Fails closed: nothing matched is an error, a run the gate cannot judge is not a pass."""
    if not all(pair.matched for pair in pairs):
        return EXIT_BAD_INPUT
    if gate_failed(pairs, pct):
        return EXIT_SLOWER
    if gate_inconclusive(pairs, pct, strict) and not allow_inconclusive:
        return EXIT_INCONCLUSIVE
    return EXIT_OK
