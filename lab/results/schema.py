"""JSON Schema (draft 2020-12) of the report written by `--report --format json`."""

from __future__ import annotations

from typing import Any

from lab.results.model import SCHEMA_ID, SCHEMA_VERSION
from lab.results.openloop import OPEN_LOOP_RECORD_SCHEMA

_num = {"type": ["number", "null"]}
_int = {"type": ["integer", "null"]}

_describe = {
    "type": "object",
    "required": ["n", "median", "mean", "stdev", "min", "max", "mad"],
    "properties": {
        "n": {"type": "integer"},
        **{k: _num for k in ("median", "mean", "stdev", "min", "max", "mad")},
        # 95% CI of the median from order statistics; ci_confidence is what it really reaches.
        **{k: _num for k in ("ci_low", "ci_high", "ci_confidence", "relative_spread")},
    },
}

_notice = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "run_id": {"type": "string"},
    },
}
_notices = {"type": "array", "items": _notice}

# lab.core.stats.Comparison.to_json(): sample a against sample b, ratio = median(a) / median(b).
_comparison = COMPARISON = {
    "type": "object",
    "required": ["ratio", "ratio_low", "ratio_high", "p_value", "significant"],
    "properties": {
        "ratio": _num,
        "ratio_low": _num,
        "ratio_high": _num,
        "ratio_confidence": _num,
        "p_value": _num,
        "method": {"type": ["string", "null"]},
        "significant": {"type": "boolean"},
        "can_be_significant": {"type": "boolean"},
        "n_a": {"type": "integer"},
        "n_b": {"type": "integer"},
        # paired on common rounds (n_a = n_b = pairs); `significant` follows `p_adjusted`,
        # Holm-Bonferroni over the `family` of comparisons shown together
        "paired": {"type": "boolean"},
        "p_adjusted": _num,
        "family": {"type": "integer", "minimum": 0},
    },
}

_repeat = {
    "type": "object",
    "required": [
        "phase",
        "index",
        "wall_seconds",
        "cpu_user",
        "cpu_system",
        "cpu_seconds",
        "amount",
        "throughput",
        "tasks",
    ],
    "properties": {
        "phase": {"enum": ["warmup", "repeat"]},
        "index": {"type": "integer", "minimum": 0},
        "wall_seconds": {"type": "number", "minimum": 0},
        "cpu_user": {"type": "number"},
        "cpu_system": {"type": "number"},
        "cpu_seconds": {"type": "number"},
        "amount": {"type": "number", "minimum": 0},
        "throughput": {"type": "number", "minimum": 0},
        "tasks": {"type": "integer", "minimum": 0},
        "digest": {"type": ["string", "null"]},
        "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
        "latency": {"type": ["object", "null"]},
        "loops": {"type": "integer", "minimum": 1},
        "results": {"type": "array", "items": {"type": "string"}},
        # interleaved rounds (optional: reports made before rounds lack them)
        "round": {"type": ["integer", "null"], "minimum": 0},
        "process": {"type": ["integer", "null"], "minimum": 0},
        # page faults of the runner and its workers per pass; other programs' cores meanwhile
        "minor_faults": {"type": ["number", "null"], "minimum": 0},
        "major_faults": {"type": ["number", "null"], "minimum": 0},
        "background_cores": {"type": ["number", "null"], "minimum": 0},
        # the http workload's open loop: rates, corrected and service latencies
        "open_loop": OPEN_LOOP_RECORD_SCHEMA,
    },
}

_run = {
    "type": "object",
    "required": [
        "run_id",
        "executor",
        "workers",
        "unit",
        "tasks",
        "status",
        "error",
        "startup_seconds",
        "memory",
        "warmups",
        "repeats",
        "summary",
    ],
    "properties": {
        "run_id": {"type": "string"},
        "executor": {"type": "string"},
        "workers": {"type": "integer", "minimum": 1},
        "unit": {"type": "string"},
        "tasks": {"type": "integer", "minimum": 0},
        "status": {"enum": ["ok", "failed", "timeout", "cancelled", "not_run"]},
        "error": {
            "type": ["object", "null"],
            "required": ["kind", "message"],
            "properties": {
                "kind": {"type": "string"},
                "message": {"type": "string"},
                "detail": {"type": "string"},
            },
        },
        "start_method": {"type": ["string", "null"]},
        "startup_seconds": _num,
        # tasks shipped to a worker at once by executors that chunk (process pool, dask)
        "chunk_size": {"type": ["integer", "null"], "minimum": 1},
        "memory": {
            "type": "object",
            "properties": {"idle_rss_bytes": _int, "peak_rss_bytes": _int, "peak_uss_bytes": _int},
        },
        # CPU cores other programs kept busy while the run executed (probes.BackgroundMeter)
        "background_cpu_cores": _num,
        # CPU cores the app's own process used during the run (optional: the app sets it)
        "app_cpu_cores": _num,
        "warmups": {"type": "array", "items": _repeat},
        "repeats": {"type": "array", "items": _repeat},
        "summary": {
            "type": "object",
            "properties": {
                "wall_seconds": _describe,
                "throughput": {
                    "type": "object",
                    "properties": {"value": _num, "unit": {"type": "string"}},
                },
                "cpu_seconds": _describe,
                "cpu_cores": _num,
                "cpu_utilisation": _num,
                "speedup": _num,
                "efficiency": _num,
                "latency": {"type": ["object", "null"]},
                "errors": {"type": "object", "additionalProperties": {"type": "integer"}},
                "error_count": {"type": "integer"},
                "outliers": {"type": "array", "items": {"type": "integer"}},
                "loops": {"type": "integer"},
                "warnings": _notices,
                # baseline (a) against this run (b): ratio is the speedup
                "versus_baseline": _comparison,
                # page faults per pass (medians) of the runner and its workers
                "minor_faults": _num,
                "major_faults": _num,
                # why its figures against serial are in doubt (lab.analysis.controls)
                "doubts": {"type": "array", "items": {"type": "string"}},
                # the negative controls' per-round median (a) against this run (b)
                "versus_controls": _comparison,
            },
        },
        "params": {"type": "object"},
        # Only with an interpreter axis (--python, `interpreters:`): its label, and whether
        # the GIL was on in this run's runner once the workload was loaded.
        "interpreter": {"type": ["string", "null"]},
        "gil_enabled": {"type": ["boolean", "null"]},
        # what its runners and their workers wrote on fds 1 and 2, bounded (optional)
        "output": {"type": "string"},
    },
}

_claim = {
    "type": "object",
    "required": ["id", "claim", "status", "figures"],
    "properties": {
        "id": {"type": "string"},
        "claim": {"type": "string"},
        "status": {"enum": ["confirmed", "refuted", "partly", "inconclusive", "not measured"]},
        "figures": {"type": "string"},
        "scenarios": {"type": "array", "items": {"type": "string"}},
        "note": {"type": "string"},
    },
}

_fit = {
    "type": ["object", "null"],
    "required": ["model", "lam", "sigma", "kappa", "rmse", "peak_workers", "peak_throughput"],
    "properties": {
        "model": {"enum": ["amdahl", "usl"]},
        "lam": {"type": "number"},
        "sigma": {"type": "number"},
        "kappa": {"type": "number"},
        "rmse": {"type": "number"},
        "peak_workers": _num,
        "peak_throughput": _num,
    },
}

_scaling = {
    "type": "object",
    "required": ["executor", "points", "amdahl", "usl", "warnings"],
    "properties": {
        "executor": {"type": "string"},
        "unit": {"type": "string"},
        "points": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "baseline": _num,
        "amdahl": _fit,
        "usl": _fit,
        "warnings": {"type": "array", "items": {"type": "string"}},
    },
}

_verdicts = {
    "type": "object",
    "required": ["winner", "text", "explanations"],
    "properties": {
        "winner": {"type": ["string", "null"]},
        "winner_run": {"type": ["string", "null"]},
        "runner_up": {"type": ["string", "null"]},
        "margin": _num,
        "over_serial": _num,
        "significance": {"type": ["object", "null"]},
        "text": {"type": "string"},
        "explanations": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["executor", "rule", "text", "decided"],
                "properties": {
                    "executor": {"type": "string"},
                    "rule": {"type": "string"},
                    "text": {"type": "string"},
                    "decided": {"type": "boolean"},
                },
            },
        },
    },
}

_scenario = {
    "type": "object",
    "required": ["name", "source", "title", "workload", "settings", "runs"],
    "properties": {
        "name": {"type": "string"},
        "source": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "workload": {"type": "object", "required": ["kind"]},
        "settings": {
            "type": "object",
            "required": ["repeats", "warmups", "timeout", "workers"],
            "properties": {
                "repeats": {"type": "integer"},
                "warmups": {"type": "integer"},
                "timeout": {"type": "number"},
                "min_time": {"type": "number"},
                "processes": {"type": "integer", "minimum": 1},
                "workers": {"type": "array", "items": {"type": "integer"}},
                "start_method": {"type": ["string", "null"]},
                "quick": {"type": "boolean"},
                # an existing Dask scheduler's address, when the dask runs used one
                "cluster": {"type": ["string", "null"]},
            },
        },
        "skipped": {"type": "object", "additionalProperties": {"type": "string"}},
        "error": {"type": ["string", "null"]},
        "baseline": {"type": ["string", "null"]},
        "warnings": _notices,
        "fastest": {
            "type": ["object", "null"],
            "required": ["run_id", "versus"],
            "properties": {
                "run_id": {"type": "string"},
                "test": {"type": "string"},
                "significant_against_all": {"type": "boolean"},
                "correction": {"type": "string"},
                # other run (a) against the fastest (b): ratio is how many times faster it is
                "versus": {"type": "object", "additionalProperties": _comparison},
            },
        },
        # Interleaved rounds: the shuffled order of each round (reproduced by --seed) and the
        # drift of the baseline from round to round (lab.analysis.summarise)
        "rounds": {
            "type": ["object", "null"],
            "required": ["seed", "processes", "count", "order"],
            "properties": {
                "seed": {"type": "integer"},
                "processes": {"type": "integer", "minimum": 1},
                "count": {"type": "integer", "minimum": 0},
                "order": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "string"}},
                },
                "drift": _num,
                # other programs' cores per round; the rounds above the limit, and those left
                # out of every run's figures by the stated rule (lab.analysis.controls)
                "load": {"type": "array", "items": _num},
                "disturbed": {"type": "array", "items": {"type": "integer"}},
                "dropped": {"type": "array", "items": {"type": "integer"}},
            },
        },
        "runs": {"type": "array", "items": _run},
        # Derived by lab.analysis.verdicts from the runs (recomputed when a report is loaded):
        "verdicts": _verdicts,
        "claims": {"type": "array", "items": _claim},
        "scaling": {"type": "object", "additionalProperties": _scaling},
        "breakeven": {"type": ["object", "null"]},
        # an open loop judged by rate held and corrected p99 (lab.analysis.openloop)
        "open_loop": {"type": "object"},
        # a sweep judged at each value (lab.analysis.sweep): per value, its winner or a tie
        "sweep": {
            "type": "object",
            "required": ["param", "values", "text"],
            "properties": {
                "param": {"type": "string"},
                "text": {"type": "string"},
                "crossing": _num,
                "winner": {"type": ["string", "null"]},
                "values": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "label", "winner", "text"],
                        "properties": {
                            "value": {"type": "number"},
                            "label": {"type": "string"},
                            "winner": {"type": ["string", "null"]},
                            "winner_run": {"type": ["string", "null"]},
                            "fastest_run": {"type": ["string", "null"]},
                            "over_serial": _num,
                            "tied": {"type": "array", "items": {"type": "string"}},
                            "text": {"type": "string"},
                        },
                    },
                },
            },
        },
        "analysis_error": {"type": "string"},
        "interpreter": {"type": ["string", "null"]},  # one interpreter's part of a scenario
    },
}

# What each interpreter of the axis is (lab.engine.interpreters: the probe, then the runners).
_interpreter = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "executable": {"type": ["string", "null"]},
        "version": {"type": ["string", "null"]},
        "implementation": {"type": "string"},
        "free_threading_build": {"type": "boolean"},
        "gil_enabled": {"type": ["boolean", "null"]},
        "gil_enabled_by": {"type": "array", "items": {"type": "string"}},
        "problem": {"type": ["string", "null"]},
    },
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://concurrency-lab.invalid/report.schema.json",
    "title": "concurrency-lab report",
    "type": "object",
    "required": [
        "schema",
        "schema_version",
        "created",
        "lab_version",
        "machine",
        "scenarios",
        "interrupted",
    ],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "schema_version": {"const": SCHEMA_VERSION},
        "created": {"type": "string"},
        "lab_version": {"type": "string"},
        "command": {"type": "array", "items": {"type": "string"}},
        "interrupted": {"type": "boolean"},
        "warnings": _notices,
        "machine": {
            "type": "object",
            "required": [
                "cpu_model",
                "cpus_logical",
                "cpus_usable",
                "memory_total_bytes",
                "os",
                "python",
                "libraries",
            ],
            "properties": {
                "cpu_model": {"type": "string"},
                "cpus_logical": _int,
                "cpus_physical": _int,
                "cpus_usable": {"type": "integer", "minimum": 1},
                "memory_total_bytes": {"type": "integer"},
                "cpu_frequency_mhz": {"type": ["object", "null"]},
                "cpu_governor": {"type": ["string", "null"]},
                "cpu_caches": {"type": ["object", "null"]},
                "swap_used_bytes": _int,
                "container": {"type": ["string", "null"]},
                "cgroup_memory_limit_bytes": _int,
                "event_loop": {"type": "object"},
                "timer": {"type": "object"},
                "os": {"type": "string"},
                "python": {
                    "type": "object",
                    "required": ["implementation", "version", "build", "gil_enabled"],
                    "properties": {"gil_enabled": {"type": "boolean"}},
                },
                "libraries": {
                    "type": "object",
                    "additionalProperties": {"type": ["string", "null"]},
                },
            },
        },
        "scenarios": {"type": "array", "items": _scenario},
        "claims": {"type": "array", "items": _claim},
        "claim_notes": {"type": "array", "items": {"type": "string"}},
        "analysis_error": {"type": "string"},
        "interpreters": {"type": "object", "additionalProperties": _interpreter},
        "across_interpreters": {"type": "array", "items": {"type": "object"}},
    },
}
