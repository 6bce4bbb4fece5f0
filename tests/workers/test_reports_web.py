"""The reports on the web app: JSON, CSV and pages over HTTP (FastAPI's test client, a sandbox ledger on a temp
SQLite file, no Temporal), and one real browser (Debian's chromium) drawing the charts.

The book is the CLI tests' (tests/workers/test_reports_cli.py), plus a customer whose name is hostile HTML and
one whose name a spreadsheet would run as a formula."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.ledgers.sandbox import SandboxLedger
from adapters.store import Store
from tests.workers.test_reports_cli import build_books
from workers.intake import LifecycleDefaults
from workers.web.app import create_app
from workers.web.config import WebConfig

CHROMIUM = "/usr/bin/chromium"
HOSTILE = '<img src=x onerror="document.title=1"> Evil & "Co"'
FORMULA = '=HYPERLINK("http://evil.example","click")'
AS_OF = "2025-06-30"


async def no_temporal() -> Any:
    raise RuntimeError("no Temporal in these tests")


@pytest.fixture
def app_parts(tmp_path: Path) -> dict[str, Any]:
    ledger = SandboxLedger(tmp_path / "sandbox.db")
    ids = build_books(ledger)
    for name, amount in ((HOSTILE, "640.00"), (FORMULA, "77.00")):
        customer = ledger.add_customer(name, email="ap@example.com")
        ledger.add_invoice(customer.id, Decimal(amount), issue_date=date(2025, 5, 1), due_date=date(2025, 5, 31))
    store = Store(f"sqlite:///{tmp_path / 'duecourse.db'}")
    token = store.upsert_approver("lead@northwind.example", Decimal("1000")).token
    return {"ledger": ledger, "store": store, "token": token, "ids": ids}


def make_app(parts: dict[str, Any], open_reads: bool) -> Any:
    return create_app(WebConfig(
        connect=no_temporal, store=parts["store"], defaults=LifecycleDefaults(task_queue="q", company_name="N"),
        sandbox_webhook_secret=None, public_url="http://testserver", open_reads=open_reads,
        ledgers={"sandbox/demo": parts["ledger"]}))


@pytest.fixture
def client(app_parts: dict[str, Any]) -> TestClient:
    return TestClient(make_app(app_parts, open_reads=False))


def auth(parts: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {parts['token']}"}


def test_json_needs_a_token_outside_the_dev_stack(client: TestClient, app_parts: dict[str, Any]) -> None:
    for path in ("aging", "kpis", "forecast", "worklist"):
        assert client.get(f"/api/reports/{path}").status_code == 401
    assert client.get("/reports/aging.csv").status_code == 401
    assert client.get("/reports").status_code == 401  # the sign-in page


def test_aging_and_kpis_json(client: TestClient, app_parts: dict[str, Any]) -> None:
    aging = client.get(f"/api/reports/aging?as_of={AS_OF}", headers=auth(app_parts)).json()
    assert aging["company"] == "sandbox/demo" and aging["as_of"] == AS_OF
    usd = next(c for c in aging["currencies"] if c["currency"] == "USD")
    # The CLI book's 2000.00, and the two customers' 640.00 + 77.00 at 30 days past due.
    assert usd["total"] == "2717.00" and usd["buckets"]["1-30"] == "1217.00"
    assert HOSTILE in {c["customer_name"] for c in usd["customers"]}
    kpis = client.get(f"/api/reports/kpis?as_of={AS_OF}&days=30&months=1", headers=auth(app_parts)).json()
    usd_kpis = next(c for c in kpis["currencies"] if c["currency"] == "USD")
    assert usd_kpis["opening_ar"] == "2417.00" and usd_kpis["closing_ar"] == "2717.00"
    # DSO = 2717 / 2300 x 30 = 35.44; best = 300 / 2300 x 30 = 3.91; CEI = 2000 / (2417 + 2300 - 300) = 45.28%.
    assert (usd_kpis["dso"], usd_kpis["best_possible_dso"], usd_kpis["add"], usd_kpis["cei"]) == (35.4, 3.9, 31.5,
                                                                                                   45.3)


def test_forecast_and_worklist_json(client: TestClient, app_parts: dict[str, Any]) -> None:
    forecast = client.get(f"/api/reports/forecast?as_of={AS_OF}&weeks=4", headers=auth(app_parts)).json()
    assert [len(c["weeks"]) for c in forecast["currencies"]] == [4, 4] and "backtest" not in forecast
    worklist = client.get(f"/api/reports/worklist?as_of={AS_OF}", headers=auth(app_parts)).json()
    assert worklist["lifecycles"] is False and "Temporal" in worklist["lifecycles_note"]
    usd = next(c for c in worklist["currencies"] if c["currency"] == "USD")
    assert usd["invoices"][0]["invoice_id"] == app_parts["ids"]["b1"]
    assert [r["rank"] for r in usd["invoices"]] == list(range(1, len(usd["invoices"]) + 1))


def test_bad_parameters_are_named(client: TestClient, app_parts: dict[str, Any]) -> None:
    bad = client.get("/api/reports/aging?as_of=2025-02-30", headers=auth(app_parts))
    assert bad.status_code == 400 and bad.json()["detail"] == "as_of: not a date: '2025-02-30' (write it as YYYY-MM-DD)"
    weeks = client.get("/api/reports/forecast?weeks=0", headers=auth(app_parts))
    assert weeks.status_code == 400 and "weeks: must be between 1 and 104" in weeks.json()["detail"]
    grade = client.get("/api/reports/worklist?grade=Z", headers=auth(app_parts))
    assert grade.status_code == 400 and "unknown risk grade Z" in grade.json()["detail"]
    company = client.get("/api/reports/aging?company=xero/acme", headers=auth(app_parts))
    assert company.status_code == 404 and "sandbox/demo" in company.json()["detail"]


def test_csv_exports_quote_formulas(client: TestClient, app_parts: dict[str, Any]) -> None:
    response = client.get(f"/reports/aging.csv?as_of={AS_OF}", headers=auth(app_parts))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert 'filename="aging-2025-06-30.csv"' in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "currency,customer_id,customer_name,open_invoices,current,1-30,31-60,61-90,90+,total"
    assert "USD,,all customers,5,300.00,1217.00,0.00,0.00,1200.00,2717.00" in lines
    assert any(line.startswith("USD,") and "'=HYPERLINK" in line for line in lines)  # text, not a formula
    assert not any(",=HYPERLINK" in line for line in lines)
    for name in ("kpis", "forecast", "worklist"):
        export = client.get(f"/reports/{name}.csv?as_of={AS_OF}", headers=auth(app_parts))
        assert export.status_code == 200 and export.text.startswith("currency,")


def test_the_page_draws_its_charts_and_escapes_names(app_parts: dict[str, Any]) -> None:
    client = TestClient(make_app(app_parts, open_reads=True))
    page = client.get("/reports")
    assert page.status_code == 200
    html = page.text
    for chart in ("aging-chart", "kpi-chart", "forecast-chart", "backtest-chart"):
        assert f'<svg class="chart {chart}" role="img"' in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=" in html
    worklist = client.get(f"/reports/worklist?as_of={AS_OF}")
    assert worklist.status_code == 200 and "<img src=x" not in worklist.text and "&lt;img" in worklist.text
    assert 'href="/invoices/' in worklist.text
    bad = client.get("/reports?as_of=tomorrow")
    assert bad.status_code == 400 and "as_of: not a date" in bad.text
    # The aging chart says its figures in words too (screen readers, and this test).
    # Today everything open is over 90 days past due: USD 1200 + 300 (Bolt) + 640 + 77 = 2217, EUR 900.
    described = re.findall(r'<svg class="chart aging-chart".*?<desc>(.*?)</desc>', html)
    assert described == ["EUR: current 0, 1-30 0, 31-60 0, 61-90 0, 90+ 900",
                         "USD: current 0, 1-30 0, 31-60 0, 61-90 0, 90+ 2,217"]


@pytest.fixture
def served(app_parts: dict[str, Any]) -> Iterator[str]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(make_app(app_parts, open_reads=True), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.e2e
@pytest.mark.browser
def test_reports_page_in_a_real_browser(served: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.goto(f"{served}/reports")
            page.locator("#backtest svg.chart").first.wait_for(timeout=15000)
            for section, least in (("#aging", 1), ("#kpis", 2), ("#forecast", 1), ("#backtest", 1)):
                charts = page.locator(f"{section} svg.chart")
                assert charts.count() >= least, section
                box = charts.first.bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100, section
            # Bars are drawn with a height, lines with points: the charts are not empty frames.
            tallest = page.locator("#aging svg.chart rect.bar").evaluate_all(
                "bars => Math.max(...bars.map(bar => bar.getBoundingClientRect().height))")
            assert tallest > 50  # the 90+ bucket holds everything: its bar spans most of the plot
            assert page.locator("#kpis svg.chart circle.point").count() > 0
            assert page.locator("#forecast svg.chart path.range").count() == 2 * 13  # EUR and USD, 13 weeks each
            assert page.title() == "Reports · duecourse"  # the hostile name ran nothing
            assert HOSTILE in page.locator("#aging table[data-currency=USD]").inner_text()  # shown as text
            page.screenshot(path=str(tmp_path / "reports.png"), full_page=True)
        finally:
            browser.close()
