"""`duecourse match` (batch cash application) and `duecourse bench match` (its benchmark).

`duecourse match --invoices INVOICES.csv --payments PAYMENTS.csv --out MATCHES.json` reads the two files,
reports every bad row on stderr (file, line, column, what is wrong) and skips it, matches the rest and writes
`MATCHES.json`, one object per payment read. A progress bar is drawn only when stderr is a terminal. Exit
status 2 when a file cannot be used at all (missing, unreadable, a required column absent, output not
writable), 0 otherwise.

`duecourse bench match` generates a labelled data set from a seed, writes it as CSV to a temporary
directory, times parsing those files (the floor) and matching them, and prints auto precision, auto rate,
suggestion accuracy, unsafe auto-applies, throughput and calibration, overall and per noise kind.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from activities.cash_matching.engine import MatchingEngine
from activities.cash_matching.model import IncomingPayment, MatchConfig, MatchResult, OpenInvoice
from workers.batch.csv_io import (
    CsvLoad,
    InputFileError,
    RowError,
    read_aliases,
    read_invoices,
    read_payments,
    write_invoices,
    write_matches,
    write_payments,
)
from workers.bench.match_data import LabelledDataset, generate_dataset

_SHOWN_ROW_ERRORS = 50
# the targets the benchmark is held to
TARGET_AUTO_PRECISION = 0.995
TARGET_AUTO_RATE = 0.85
TARGET_SUGGESTION_ACCURACY = 0.97
TARGET_PARSE_RATIO = 5.0
_CALIBRATION_LEVELS = (0.9, 0.95, 0.97, 0.98, 0.99)


def _threshold(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


class _ProgressBar:
    """A one-line bar on a terminal's stderr; nothing at all when stderr is a file or a pipe."""

    def __init__(self, total: int, stream: TextIO) -> None:
        self.total = max(total, 1)
        self.stream = stream
        self.started = time.perf_counter()

    def __call__(self, done: int) -> None:
        width = 30
        filled = width * done // self.total
        rate = done / max(time.perf_counter() - self.started, 1e-9)
        self.stream.write(
            f"\rmatching [{'#' * filled}{'.' * (width - filled)}] {done:,}/{self.total:,} payments {rate:,.0f}/s"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _report_row_errors(errors: Sequence[RowError], stream: TextIO) -> None:
    for error in errors[:_SHOWN_ROW_ERRORS]:
        print(f"{error} (row skipped)", file=stream)
    if len(errors) > _SHOWN_ROW_ERRORS:
        print(f"... and {len(errors) - _SHOWN_ROW_ERRORS} more bad rows, all skipped", file=stream)


def match_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="duecourse match",
        description="Batch cash application: match bank payments to open invoices.",
    )
    parser.add_argument("--invoices", required=True, metavar="INVOICES.csv", help="open invoices")
    parser.add_argument("--payments", required=True, metavar="PAYMENTS.csv", help="incoming payments")
    parser.add_argument("--out", required=True, metavar="MATCHES.json", help="where to write the decisions")
    parser.add_argument("--aliases", metavar="ALIASES.csv", help="learned payer aliases: payer_name,customer_id")
    parser.add_argument(
        "--auto-threshold",
        type=_threshold,
        default=MatchConfig().auto_threshold,
        help="confidence from which a safe match is applied without review (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON summary object on stdout")
    args = parser.parse_args(argv)

    try:
        invoices = read_invoices(args.invoices)
        payments = read_payments(args.payments)
        aliases: CsvLoad[tuple[str, str]] = read_aliases(args.aliases) if args.aliases else CsvLoad()
    except InputFileError as exc:
        print(f"duecourse match: error: {exc}", file=sys.stderr)
        return 2
    errors = [*invoices.errors, *payments.errors, *aliases.errors]
    _report_row_errors(errors, sys.stderr)

    config = replace(MatchConfig(), auto_threshold=args.auto_threshold)
    engine = MatchingEngine(invoices.records, dict(aliases.records), config)
    progress: Callable[[int], None] | None = (
        _ProgressBar(len(payments.records), sys.stderr) if sys.stderr.isatty() else None
    )
    results = engine.match_all(payments.records, progress)
    try:
        write_matches(args.out, results)
    except OSError as exc:
        print(f"duecourse match: error: {args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2

    decisions = Counter(r.decision for r in results)
    skipped = invoices.rows_skipped + payments.rows_skipped
    print(
        f"{args.payments}: {payments.rows_read} rows read, {payments.rows_skipped} skipped; "
        f"{args.invoices}: {invoices.rows_read} rows read, {invoices.rows_skipped} skipped; "
        f"{len(results)} payments matched: {decisions['auto']} auto, {decisions['review']} review, "
        f"{decisions['unmatched']} unmatched -> {args.out}",
        file=sys.stderr,
    )
    if args.json:
        summary = {
            "payments": len(results),
            "auto": decisions["auto"],
            "review": decisions["review"],
            "unmatched": decisions["unmatched"],
            "skipped_rows": skipped,
            "out": str(args.out),
            "invoices": len(invoices.records),
            "rows_read": {"payments": payments.rows_read, "invoices": invoices.rows_read},
            "row_errors": [
                {"file": e.file, "row": e.row_number, "column": e.column, "message": e.message} for e in errors
            ],
        }
        print(json.dumps(summary))
    return 0


# ---------------------------------------------------------------------------------------------- bench


@dataclass(slots=True)
class _Tally:
    payments: int = 0
    safe: int = 0
    auto: int = 0
    auto_safe: int = 0
    auto_right: int = 0
    review: int = 0
    unmatched: int = 0
    suggestion_right: int = 0
    unsafe_auto: int = 0

    def add(self, safe: bool, result: MatchResult, exact: bool, same_invoices: bool, unsafe: bool) -> None:
        self.payments += 1
        self.safe += safe
        if result.decision == "auto":
            self.auto += 1
            self.auto_safe += safe
            self.auto_right += exact
            self.unsafe_auto += unsafe
        elif result.decision == "review":
            self.review += 1
        else:
            self.unmatched += 1
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
            "unsafe_auto_applies": self.unsafe_auto,
        }


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return "   -  " if value is None else f"{value * 100:6.2f}%"


def _violates_safety(payment: IncomingPayment, result: MatchResult, invoices: dict[str, OpenInvoice]) -> bool:
    """An auto decision the rules forbid whatever the labels say: another currency, or more than a balance."""
    for allocation in result.allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None or invoice.currency != payment.currency or allocation.amount > invoice.balance:
            return True
    return result.allocated > payment.amount


def run_bench(payments: int, invoices: int, seed: int, repeat: int = 5) -> dict[str, Any]:
    """Generate, write, parse and match a labelled data set; every figure of `duecourse bench match`."""
    started = time.process_time()
    data: LabelledDataset = generate_dataset(payments=payments, invoices=invoices, seed=seed)
    generated = time.process_time() - started
    parse_times: list[float] = []
    match_times: list[float] = []
    build_times: list[float] = []
    parse_walls: list[float] = []
    match_walls: list[float] = []
    results: list[MatchResult] = []
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
            parse_times.append(time.process_time() - started)
            parse_walls.append(time.perf_counter() - wall)
            if loaded_invoices.errors or loaded_payments.errors:
                bad = (loaded_invoices.errors + loaded_payments.errors)[:3]
                raise RuntimeError(f"generated files do not parse: {', '.join(map(str, bad))}")
            started, wall = time.process_time(), time.perf_counter()
            engine = MatchingEngine(loaded_invoices.records, data.aliases)
            built = time.process_time()
            results = engine.match_all(loaded_payments.records)
            match_times.append(time.process_time() - started)
            match_walls.append(time.perf_counter() - wall)
            build_times.append(built - started)
    parse_time = min(parse_times)
    match_time = min(match_times)

    by_id = {r.payment_id: r for r in results}
    invoice_by_id = {i.invoice_id: i for i in loaded_invoices.records}
    overall = _Tally()
    per_kind: dict[str, _Tally] = defaultdict(_Tally)
    calibration: dict[float, list[int]] = {level: [0, 0] for level in _CALIBRATION_LEVELS}
    for labelled in data.payments:
        result = by_id[labelled.payment.payment_id]
        truth = {(a.invoice_id, a.amount) for a in labelled.truth}
        got = {(a.invoice_id, a.amount) for a in result.allocations}
        exact = truth == got and bool(truth)
        same_invoices = {i for i, _ in truth} == {i for i, _ in got}
        unsafe = result.decision == "auto" and (
            not labelled.safe_to_auto or _violates_safety(labelled.payment, result, invoice_by_id)
        )
        for tally in (overall, per_kind[labelled.noise_kind]):
            tally.add(labelled.safe_to_auto, result, exact, same_invoices, unsafe)
        if result.decision == "auto":
            for level, counts in calibration.items():
                if result.confidence >= level:
                    counts[0] += 1
                    counts[1] += exact
    figures = overall.figures()
    return {
        "seed": seed,
        "runs": repeat,
        "invoices": len(loaded_invoices.records),
        **figures,
        "generate_seconds": round(generated, 3),
        "parse_seconds": round(parse_time, 3),
        "index_seconds": round(min(build_times), 3),
        "match_seconds": round(match_time, 3),
        "parse_wall_seconds": round(min(parse_walls), 3),
        "match_wall_seconds": round(min(match_walls), 3),
        "match_to_parse_ratio": round(match_time / parse_time, 2) if parse_time else None,
        "payments_per_second": round(len(results) / match_time) if match_time else None,
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


def _meets(value: float | None, target: float) -> bool:
    return value is not None and value >= target


def _print_report(report: dict[str, Any], stream: TextIO) -> None:
    def mark(ok: bool) -> str:
        return "ok  " if ok else "MISS"

    targets = report["targets"]
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
        print(f"  {label:20} {value}   target {target:8} {mark(targets[key])}", file=stream)
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
        f"{mark(targets['match_to_parse_ratio'])}",
        file=stream,
    )
    print("  calibration (auto decisions at confidence >= c: share right)", file=stream)
    for row in report["calibration"]:
        print(
            f"    c = {row['confidence_at_least']:.2f}   {row['auto']:6,} auto   {_percent(row['right'])}", file=stream
        )
    print(
        f"  {'per noise kind':28} {'n':>6} {'safe':>6} {'auto':>8} {'auto rate':>10} {'auto prec':>10} "
        f"{'suggestion':>10} {'unsafe':>6}",
        file=stream,
    )
    for kind, figures in report["per_noise_kind"].items():
        auto_share = figures["auto"] / figures["payments"] if figures["payments"] else None
        print(
            f"    {kind:26} {figures['payments']:6,} {figures['safe_to_auto']:6,} {_percent(auto_share):>8} "
            f"{_percent(figures['auto_rate_of_safe']):>10} {_percent(figures['auto_precision']):>10} "
            f"{_percent(figures['suggestion_accuracy']):>10} {figures['unsafe_auto_applies']:6d}",
            file=stream,
        )
    print(
        "  auto precision: allocations exactly as labelled; suggestion accuracy: the suggested invoices are the "
        "labelled ones (none for a stranger)",
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
    arguments = sys.argv[1:]
    if arguments[:1] == ["bench"]:
        sys.exit(bench_match_main(arguments[1:]))
    sys.exit(match_main(arguments))
