"""`duecourse bench lifecycle` runs its own stack, prints its figures and leaves nothing running."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DUECOURSE = str(Path(sys.executable).parent / "duecourse")


def test_bench_lifecycle_prints_its_rates_ratios_and_memory_per_sleeping_lifecycle() -> None:
    done = subprocess.run([DUECOURSE, "bench", "lifecycle", "--n", "4", "--warm-up", "2", "--json"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["lifecycles"] == 4 and figures["warm_up"] == 2
    assert figures["rss_before_kib"] > 0 and figures["rss_after_kib"] > 0
    assert figures["kib_per_sleeping_lifecycle"] == round(
        (figures["rss_after_kib"] - figures["rss_before_kib"]) / 4, 1)
    rates = ("lifecycles_per_second", "bare_workflows_per_second", "webhook_events_per_second",
             "raw_starts_per_second")
    assert all(figures[rate] > 0 for rate in rates), figures
    assert figures["lifecycle_to_bare_ratio"] == pytest.approx(
        figures["lifecycles_per_second"] / figures["bare_workflows_per_second"], rel=0.05, abs=0.01)
    assert figures["intake_to_raw_ratio"] == pytest.approx(
        figures["webhook_events_per_second"] / figures["raw_starts_per_second"], rel=0.05, abs=0.01)
    assert benchmark_processes() == [], "the benchmark left its Temporal server or worker running"


def benchmark_processes() -> list[int]:
    """Processes still running with the marker the benchmark puts in the environment of all it starts."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"DUECOURSE_BENCH=" in (proc / "environ").read_bytes():
                found.append(int(proc.name))
        except OSError:
            continue  # gone meanwhile, or not ours to read
    return found


def test_bench_lifecycle_refuses_a_count_below_one() -> None:
    done = subprocess.run([DUECOURSE, "bench", "lifecycle", "--n", "0"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--n and --warm-up must be at least 1" in done.stderr
