"""`duecourse bench match`: cash application on a generated, labelled data set, and the figures it earns.

It generates the data set from a seed (`workers.bench.match_data`), writes it as CSV to a temporary directory
with the batch command's own writers, times parsing those files (the floor) and matching them, and prints auto
precision, auto rate, suggestion accuracy, unsafe auto-applies, throughput and calibration, overall and per
noise kind. The same seed gives the same figures (timings aside).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from activities.cash_matching.engine import MatchingEngine
from activities.cash_matching.model import IncomingPayment, MatchAllocation, MatchResult, OpenInvoice
from workers.batch.csv_io import read_invoices, read_payments, write_invoices, write_payments
from workers.bench.match_data import LabelledDataset, LabelledPayment, generate_dataset

# the targets the benchmark is held to
TARGET_AUTO_PRECISION = 0.995
TARGET_AUTO_RATE = 0.85
TARGET_SUGGESTION_ACCURACY = 0.97
TARGET_PARSE_RATIO = 5.0
_CALIBRATION_LEVELS = (0.9, 0.95, 0.97, 0.98, 0.99)


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


@dataclass(slots=True)
class _Tally:
    payments: int = 0
    safe: int = 0
    auto: int = 0
    auto_safe: int = 0
    auto_right: int = 0
    review: int = 0
    review_right: int = 0
    unmatched: int = 0
    # payments with a labelled invoice the engine left unmatched (no suggestion at all)
    missed: int = 0
    suggestion_right: int = 0
    unsafe_auto: int = 0

    def add(
        self, safe: bool, result: MatchResult, exact: bool, same_invoices: bool, unsafe: bool, labelled: bool
    ) -> None:
        self.payments += 1
        self.safe += safe
        if result.decision == "auto":
            self.auto += 1
            self.auto_safe += safe
            self.auto_right += exact
            self.unsafe_auto += unsafe
        elif result.decision == "review":
            self.review += 1
            self.review_right += same_invoices
        else:
            self.unmatched += 1
            self.missed += labelled
        self.suggestion_right += same_invoices

    def figures(self) -> dict[str, Any]:
        return {
            "payments": self.payments,
            "safe_to_auto": self.safe,
            "auto": self.auto,
            "review": self.review,
            "unmatched": self.unmatched,
            "auto_precision": _share(self.auto_right, self.auto),
            "auto_rate_of_safe": _share(self.auto_safe, self.safe),
            "suggestion_accuracy": _share(self.suggestion_right, self.payments),
            "review_accuracy": _share(self.review_right, self.review),
            "unmatched_with_truth": self.missed,
            "unsafe_auto_applies": self.unsafe_auto,
        }


@dataclass(slots=True)
class _Runs:
    """The timed runs: CPU and wall seconds of each, and what the last one read and decided."""

    parse: list[float] = field(default_factory=list)
    build: list[float] = field(default_factory=list)
    match: list[float] = field(default_factory=list)
    parse_wall: list[float] = field(default_factory=list)
    match_wall: list[float] = field(default_factory=list)
    invoices: list[OpenInvoice] = field(default_factory=list)
    results: list[MatchResult] = field(default_factory=list)


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:6.2f}%"


def _meets(value: float | None, target: float) -> bool:
    return value is not None and value >= target


def _violates_safety(payment: IncomingPayment, result: MatchResult, invoices: dict[str, OpenInvoice]) -> bool:
    """An auto decision the rules forbid whatever the labels say: another currency, or more than a balance."""
    for allocation in result.allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None or invoice.currency != payment.currency or allocation.amount > invoice.balance:
            return True
    return result.allocated > payment.amount


def _timed_runs(data: LabelledDataset, repeat: int) -> _Runs:
    """Write the data set as the batch files, then parse and match them `repeat` times."""
    runs = _Runs()
    with tempfile.TemporaryDirectory(prefix="duecourse-bench-") as directory:
        invoices_csv = Path(directory) / "INVOICES.csv"
        payments_csv = Path(directory) / "PAYMENTS.csv"
        write_invoices(invoices_csv, data.invoices)
        write_payments(payments_csv, (p.payment for p in data.payments))
        # parse and match take turns, so a busy moment on the machine does not favour one of them
        for _ in range(repeat):
            started, wall = time.process_time(), time.perf_counter()
            loaded_invoices = read_invoices(invoices_csv)
            loaded_payments = read_payments(payments_csv)
            runs.parse.append(time.process_time() - started)
            runs.parse_wall.append(time.perf_counter() - wall)
            if loaded_invoices.errors or loaded_payments.errors:
                bad = (loaded_invoices.errors + loaded_payments.errors)[:3]
                raise RuntimeError(f"generated files do not parse: {', '.join(map(str, bad))}")
            started, wall = time.process_time(), time.perf_counter()
            engine = MatchingEngine(loaded_invoices.records, data.aliases)
            built = time.process_time()
            runs.results = engine.match_all(loaded_payments.records)
            runs.match.append(time.process_time() - started)
            runs.match_wall.append(time.perf_counter() - wall)
            runs.build.append(built - started)
            runs.invoices = loaded_invoices.records
    return runs


def _against_truth(labelled: LabelledPayment, result: MatchResult, claimed: set[str]) -> tuple[bool, bool]:
    """Whether the allocations are exactly the labelled ones (invoices and amounts), and whether they name the
    labelled invoices. An allocation may go to an invoice the label calls interchangeable with its own (the
    evidence cannot tell them apart), each such stand-in counted for one payment only (`claimed`, updated)."""
    truth, got = labelled.truth, result.allocations
    if len(truth) != len(got) or not labelled.interchangeable:
        exact = bool(truth) and {(a.invoice_id, a.amount) for a in truth} == {(a.invoice_id, a.amount) for a in got}
        return exact, {a.invoice_id for a in truth} == {a.invoice_id for a in got}
    open_slots = dict(enumerate(truth))
    pairs: list[tuple[MatchAllocation, MatchAllocation]] = []
    stand_ins: list[MatchAllocation] = []
    for allocation in got:  # the labelled invoice itself first, so a stand-in never takes its slot
        slot = next((n for n, t in open_slots.items() if t.invoice_id == allocation.invoice_id), None)
        if slot is None:
            stand_ins.append(allocation)
        else:
            pairs.append((open_slots.pop(slot), allocation))
    for allocation in stand_ins:
        slot = next(
            (
                n
                for n, t in open_slots.items()
                if allocation.invoice_id in labelled.interchangeable[n] and allocation.invoice_id not in claimed
            ),
            None,
        )
        if slot is None:
            return False, False
        pairs.append((open_slots.pop(slot), allocation))
    claimed.update(a.invoice_id for a in stand_ins)
    return all(t.amount == a.amount for t, a in pairs), True


def _score(data: LabelledDataset, runs: _Runs) -> tuple[_Tally, dict[str, _Tally], dict[float, list[int]]]:
    """Each decision against its label: overall, per noise kind, and auto decisions per confidence level."""
    by_id = {r.payment_id: r for r in runs.results}
    invoice_by_id = {i.invoice_id: i for i in runs.invoices}
    overall = _Tally()
    per_kind: dict[str, _Tally] = defaultdict(_Tally)
    calibration: dict[float, list[int]] = {level: [0, 0] for level in _CALIBRATION_LEVELS}
    claimed: set[str] = set()
    for labelled in data.payments:
        result = by_id[labelled.payment.payment_id]
        exact, same_invoices = _against_truth(labelled, result, claimed)
        unsafe = result.decision == "auto" and (
            not labelled.safe_to_auto or _violates_safety(labelled.payment, result, invoice_by_id)
        )
        for tally in (overall, per_kind[labelled.noise_kind]):
            tally.add(labelled.safe_to_auto, result, exact, same_invoices, unsafe, bool(labelled.truth))
        if result.decision == "auto":
            for level, counts in calibration.items():
                if result.confidence >= level:
                    counts[0] += 1
                    counts[1] += exact
    return overall, per_kind, calibration


def run_bench(payments: int, invoices: int, seed: int, repeat: int = 5) -> dict[str, Any]:
    """Generate, write, parse and match a labelled data set; every figure of `duecourse bench match`."""
    started = time.process_time()
    data = generate_dataset(payments=payments, invoices=invoices, seed=seed)
    generated = time.process_time() - started
    runs = _timed_runs(data, repeat)
    parse_time = min(runs.parse)
    match_time = min(runs.match)
    overall, per_kind, calibration = _score(data, runs)
    figures = overall.figures()
    return {
        "seed": seed,
        "runs": repeat,
        "invoices": len(runs.invoices),
        **figures,
        "generate_seconds": round(generated, 3),
        "parse_seconds": round(parse_time, 3),
        "index_seconds": round(min(runs.build), 3),
        "match_seconds": round(match_time, 3),
        "parse_wall_seconds": round(min(runs.parse_wall), 3),
        "match_wall_seconds": round(min(runs.match_wall), 3),
        "match_to_parse_ratio": round(match_time / parse_time, 2) if parse_time else None,
        "payments_per_second": round(len(runs.results) / match_time) if match_time else None,
        "calibration": [
            {"confidence_at_least": level, "auto": counts[0], "right": _share(counts[1], counts[0])}
            for level, counts in calibration.items()
        ],
        "per_noise_kind": {kind: per_kind[kind].figures() for kind in sorted(per_kind)},
        "targets": {
            "auto_precision": _meets(figures["auto_precision"], TARGET_AUTO_PRECISION),
            "auto_rate_of_safe": _meets(figures["auto_rate_of_safe"], TARGET_AUTO_RATE),
            "suggestion_accuracy": _meets(figures["suggestion_accuracy"], TARGET_SUGGESTION_ACCURACY),
            "unsafe_auto_applies": figures["unsafe_auto_applies"] == 0,
            "match_to_parse_ratio": parse_time > 0 and match_time / parse_time <= TARGET_PARSE_RATIO,
        },
    }


def _mark(ok: bool) -> str:
    return "ok  " if ok else "MISS"


def _print_report(report: dict[str, Any], stream: TextIO) -> None:
    print(
        f"duecourse bench match: {report['payments']:,} payments x {report['invoices']:,} open invoices, "
        f"seed {report['seed']}",
        file=stream,
    )
    print(
        f"  decisions            {report['auto']:,} auto, {report['review']:,} review, {report['unmatched']:,} "
        f"unmatched ({report['safe_to_auto']:,} payments safe to auto-apply)",
        file=stream,
    )
    _print_targets(report, stream)
    _print_timings(report, stream)
    _print_calibration(report, stream)
    _print_noise_kinds(report, stream)
    print(
        "  auto precision: allocations exactly as labelled; suggestion accuracy: the suggested invoices are the "
        "labelled ones (none for a stranger); an unnamed invoice may stand in for an equal one of the same "
        "customer that nothing names, once",
        file=stream,
    )


def _print_targets(report: dict[str, Any], stream: TextIO) -> None:
    targets = report["targets"]
    rows = [
        ("auto precision", _percent(report["auto_precision"]), f">= {TARGET_AUTO_PRECISION:.1%}", "auto_precision"),
        (
            "auto rate (of safe)",
            _percent(report["auto_rate_of_safe"]),
            f">= {TARGET_AUTO_RATE:.0%}",
            "auto_rate_of_safe",
        ),
        (
            "suggestion accuracy",
            _percent(report["suggestion_accuracy"]),
            f">= {TARGET_SUGGESTION_ACCURACY:.0%}",
            "suggestion_accuracy",
        ),
        ("unsafe auto-applies", f"{report['unsafe_auto_applies']:7d}", "== 0", "unsafe_auto_applies"),
    ]
    for label, value, target, key in rows:
        print(f"  {label:20} {value}   target {target:8} {_mark(targets[key])}", file=stream)


def _print_timings(report: dict[str, Any], stream: TextIO) -> None:
    print(
        f"  parse (floor)        {report['parse_seconds']:7.3f}s   CPU, both CSV files, best of {report['runs']} "
        f"({report['parse_wall_seconds']:.3f}s wall)",
        file=stream,
    )
    print(
        f"  match                {report['match_seconds']:7.3f}s   CPU, indexes {report['index_seconds']:.3f}s "
        f"included; {report['payments_per_second']:,} payments/s ({report['match_wall_seconds']:.3f}s wall)",
        file=stream,
    )
    print(
        f"  match / parse        {report['match_to_parse_ratio']:7.2f}x   target <= {TARGET_PARSE_RATIO:.0f}x     "
        f"{_mark(report['targets']['match_to_parse_ratio'])}",
        file=stream,
    )


def _print_calibration(report: dict[str, Any], stream: TextIO) -> None:
    print("  calibration (auto decisions at confidence >= c: share right)", file=stream)
    for row in report["calibration"]:
        print(
            f"    c = {row['confidence_at_least']:.2f}   {row['auto']:6,} auto   {_percent(row['right'])}", file=stream
        )


def _print_noise_kinds(report: dict[str, Any], stream: TextIO) -> None:
    print(
        f"  {'per noise kind':28} {'n':>6} {'safe':>6} {'auto':>8} {'auto rate':>10} {'auto prec':>10} "
        f"{'review acc':>10} {'suggestion':>10} {'missed':>6} {'unsafe':>6}",
        file=stream,
    )
    for kind, figures in report["per_noise_kind"].items():
        auto_share = figures["auto"] / figures["payments"] if figures["payments"] else None
        print(
            f"    {kind:26} {figures['payments']:6,} {figures['safe_to_auto']:6,} {_percent(auto_share):>8} "
            f"{_percent(figures['auto_rate_of_safe']):>10} {_percent(figures['auto_precision']):>10} "
            f"{_percent(figures['review_accuracy']):>10} {_percent(figures['suggestion_accuracy']):>10} "
            f"{figures['unmatched_with_truth']:6d} {figures['unsafe_auto_applies']:6d}",
            file=stream,
        )
    print(
        "    auto: share decided auto; auto rate: of those safe to auto-apply; review acc: review suggestions "
        "naming the labelled invoices; missed: labelled payments left unmatched",
        file=stream,
    )


def bench_match_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="duecourse bench match",
        description="Benchmark cash application on a generated, labelled data set.",
    )
    parser.add_argument("--payments", type=_positive, default=10_000)
    parser.add_argument("--invoices", type=_positive, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=_positive, default=5, help="timed runs; the fastest counts (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    args = parser.parse_args(argv)
    report = run_bench(args.payments, args.invoices, args.seed, args.repeat)
    if args.json:
        print(json.dumps(report))
    else:
        _print_report(report, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(bench_match_main(sys.argv[1:]))
