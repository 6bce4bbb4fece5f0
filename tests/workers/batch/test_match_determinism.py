"""`duecourse match` gives the same bytes for the same files whatever PYTHONHASHSEED the process runs with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from workers.batch.csv_io import write_invoices, write_payments
from workers.bench.match_data import generate_dataset

REPO = Path(__file__).resolve().parents[3]


def _match(invoices_csv: Path, payments_csv: Path, out: Path, hash_seed: str) -> bytes:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "workers.cli",
            "match",
            "--invoices",
            str(invoices_csv),
            "--payments",
            str(payments_csv),
            "--out",
            str(out),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return out.read_bytes()


def test_same_files_give_the_same_bytes_under_any_hash_seed(tmp_path: Path) -> None:
    # a generated batch carries every kind of noise: equal balances, lists, near misses, strangers
    data = generate_dataset(payments=400, invoices=2_000, seed=3)
    invoices_csv, payments_csv = tmp_path / "INVOICES.csv", tmp_path / "PAYMENTS.csv"
    write_invoices(invoices_csv, data.invoices)
    write_payments(payments_csv, (p.payment for p in data.payments))
    first = _match(invoices_csv, payments_csv, tmp_path / "first.json", "1")
    second = _match(invoices_csv, payments_csv, tmp_path / "second.json", "4242")
    assert first == second
    assert first.count(b'"payment_id"') == 400
