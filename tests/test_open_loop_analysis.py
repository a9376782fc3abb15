"""Open-loop verdicts, saturation points, the pool-saturation claim and the reports, on
synthetic runs with known answers (issue 24)."""

from __future__ import annotations

from lab.analysis.analyse import analyse_scenario
from lab.analysis.openloop import analyse_open_loop
from lab.report.html import to_html
from lab.report.markdown import to_markdown
from tests import synthetic
from tests.synthetic import MB, open_loop_run

FAST = [0.010, 0.011, 0.010, 0.012, 0.010, 0.011, 0.010]
SLOWER = [0.020, 0.024, 0.021, 0.022, 0.025, 0.020, 0.023]


def sweep(**workload: object) -> synthetic.ScenarioResult:
    runs = []
    for rate in (400.0, 800.0, 1200.0):
        runs.append(open_loop_run("asyncio", 4, rate, p99_s=FAST, memory=36 * MB))
        runs.append(open_loop_run("uvloop", 4, rate, p99_s=SLOWER, memory=36 * MB))
        reached = 470.0 if rate > 470 else None
        runs.append(open_loop_run("threads", 4, rate, reached=reached, memory=25 * MB))
    return synthetic.scenario(
        "http_open_loop",
        "http",
        runs,
        rate=800.0,
        latency_ms=5,
        duration=1.0,
        p99_limit_ms=50,
    )


def test_the_verdict_names_the_lowest_corrected_p99_among_runs_that_held() -> None:
    result = sweep()
    analysis = analyse_scenario(result, synthetic.machine())
    loop = analysis.open_loop
    assert loop is not None
    at_800 = loop.verdict_at(800.0)
    assert at_800 is not None
    assert at_800.winner_run == "asyncio-4@rate=800"
    assert at_800.fell_behind == ["threads-4@rate=800"]
    text = analysis.verdict.text
    assert text.startswith("at 800/s: asyncio-4 has the lowest corrected p99")
    assert "significant" in text and "not significant" not in text
    # The run that fell behind is named, with the rate it reached and both latencies.
    assert "threads-4 could not hold 800/s: it reached 475/s" in text
    assert analysis.verdict.winner == "asyncio"
    # No race between batch times: the closed loop's "fastest" is not decided.
    assert result.fastest is None
    assert analysis.sweep is None and analysis.breakeven is None


def test_a_run_with_failed_requests_never_holds_the_rate() -> None:
    runs = [
        open_loop_run("asyncio", 4, 800.0, p99_s=FAST, errors={"timeout": 3}),
        open_loop_run("threads", 4, 800.0, p99_s=SLOWER),
    ]
    result = synthetic.scenario("one", "http", runs, rate=800.0, latency_ms=5)
    loop = analyse_open_loop(result)
    assert loop is not None
    verdict = loop.verdicts[0]
    assert verdict.fell_behind == ["asyncio-4@rate=800"]
    assert "asyncio-4 could not hold 800/s: its requests failed" in verdict.text
    assert "only threads-4 held the rate" in verdict.text


def test_corrected_latency_of_a_run_that_fell_behind_is_far_above_its_service_time() -> None:
    loop = analyse_open_loop(sweep())
    assert loop is not None
    threads = next(r for r in loop.runs if r.run_id == "threads-4@rate=800")
    assert not threads.held
    assert threads.corrected_p99 is not None and threads.service_p99 is not None
    # 800 scheduled at 470/s: the last ones wait most of a second longer than scheduled.
    assert threads.corrected_p99 > 0.5 > 0.01 > threads.service_p99
    assert "threads-4 fell behind at 800/s (reached 475/s)" in loop.note
    assert "at p99, while the server answered in 6.0 ms" in loop.note


def test_saturation_points_and_the_claim() -> None:
    result = sweep()
    analysis = analyse_scenario(result, synthetic.machine())
    loop = analysis.open_loop
    assert loop is not None
    by_label = {s.label: s for s in loop.saturation}
    assert by_label["threads-4"].held_rate == 400.0
    assert by_label["threads-4"].failed_rate == 800.0
    assert by_label["asyncio-4"].held_rate == 1200.0 and by_label["asyncio-4"].failed_rate is None
    claim = next(c for c in analysis.claims if c.id == "pool_saturation")
    assert claim.status == "confirmed", claim.figures
    assert "W = 4, server latency 5.0 ms: predicted saturation 800/s, measured 475/s (" in (
        claim.figures
    )


def test_the_claim_is_refuted_when_the_event_loop_does_not_hold_more() -> None:
    runs = []
    for rate in (400.0, 800.0):
        reached = 470.0 if rate > 470 else None
        runs.append(open_loop_run("asyncio", 4, rate, reached=reached, p99_s=FAST))
        runs.append(open_loop_run("threads", 4, rate, reached=reached))
    result = synthetic.scenario("flat", "http", runs, rate=400.0, latency_ms=5)
    analysis = analyse_scenario(result, synthetic.machine())
    claim = next(c for c in analysis.claims if c.id == "pool_saturation")
    assert claim.status == "refuted"
    assert "asyncio-4 did not hold a higher rate" in claim.figures


def test_reports_show_rates_and_both_latencies() -> None:
    report = synthetic.report(sweep())
    markdown = to_markdown(report)
    assert "**Open loop**" in markdown
    assert "| threads-4 | 800/s | 475/s | no |" in markdown
    assert "**Closing note:** threads-4 fell behind at 800/s" in markdown
    assert "| threads-4 | 400/s | 800/s (reached 475/s) |" in markdown
    html = to_html(report)
    assert "Corrected p99 latency against the target rate" in html
    assert "Latency percentiles at 800 requests/s" in html
    assert "Break-even: saturation points" in html


async def test_the_app_charts_corrected_p99_against_rate() -> None:
    from textual.app import App, ComposeResult

    from lab.tui.widgets.chart import ChartView, open_loop_side

    result = sweep()
    analysis = analyse_scenario(result, synthetic.machine())
    assert analysis.open_loop is not None

    class ChartApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ChartView(id="chart")

    app = ChartApp()
    async with app.run_test(size=(120, 30)) as pilot:
        view = app.query_one(ChartView)
        view.show(result, analysis)
        await pilot.pause()
        from rich.console import Console

        console = Console(width=120, record=True)
        console.print(open_loop_side(analysis.open_loop))  # what the side panel shows
        side = console.export_text()
        assert "T threads-4" in side and "✗475" in side  # fell behind at 800/s, reached 475/s
        assert "A asyncio-4" in side
        assert "corrected p99 (ms, log scale) vs target rate" in str(view.plot.plt.build())


def test_the_csv_has_each_runs_rates_and_both_latencies() -> None:
    import csv
    import io

    from lab.report.csvfile import to_csv

    rows = list(csv.DictReader(io.StringIO(to_csv(synthetic.report(sweep())))))
    threads = next(
        r for r in rows if r["run_id"].startswith("threads-4") and r["target_rate"] == "800.0"
    )
    assert threads["rate_held"] == "False" and round(float(threads["achieved_rate"])) == 475
    corrected, service = float(threads["corrected_p99_s"]), float(threads["service_p99_s"])
    assert corrected > service > 0
    asyncio_row = next(
        r for r in rows if r["run_id"].startswith("asyncio-4") and r["target_rate"] == "800.0"
    )
    assert asyncio_row["rate_held"] == "True"
    assert all(r["target_rate"] for r in rows)  # every run of an open loop has its rates
