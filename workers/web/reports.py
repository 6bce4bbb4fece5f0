"""The reports on the web (issue 11): the same figures as `duecourse report ...`, as pages, JSON and CSV.

Pages (the form's session, or anyone on the dev stack): `/reports` (AR aging, collection KPIs and their monthly
trend, the 13-week cash-in forecast with its range, forecast against actual from the backtest, links to the
worklists and the CSV files) and `/reports/worklist` (open invoices ranked by expected loss and urgency, with
stage and owner from the lifecycles). JSON (a bearer token, or anyone on the dev stack): `/api/reports/aging`,
`/api/reports/kpis`, `/api/reports/forecast`, `/api/reports/worklist`. CSV: `/reports/aging.csv`,
`/reports/kpis.csv`, `/reports/forecast.csv`, `/reports/worklist.csv`.

Every one takes `as_of=YYYY-MM-DD` (as the books stood at the end of that day; default the ledger's today) and
`company=LEDGER/TENANT` when several ledger companies are connected (default the first: the dev stack's
sandbox). A bad date or number is a 400 naming the parameter, an unknown company a 404, a ledger that cannot be
read a 502. Customer names are text everywhere: escaped by the templates and the charts, and a CSV cell that a
spreadsheet would run as a formula (=, +, -, @) is quoted.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from activities.reports.aging import LABELS, AgingReport, aging
from activities.reports.books import Books
from activities.reports.cash_in import (
    BACKTEST_MONTHS,
    FORECAST_WEEKS,
    MonthAhead,
    cash_forecast,
    forecast_against_actual,
    month_ahead,
)
from activities.reports.kpis import HEADLINE_DAYS, TREND_MONTHS, KpiReport, kpi_report
from activities.reports.worklist import NOBODY, WorklistFilter, worklist
from adapters.ledger import LedgerError, LedgerPort
from workers.report_books import books_from_ledger, read_lifecycles
from workers.web.charts import Series, bar_chart, line_chart
from workers.web.config import WebConfig
from workers.web.deps import ConfigDep, SessionApprover, reads_allowed, web_config
from workers.web.pages import TEMPLATES, signin_needed

router = APIRouter()

_MODEL_NAMES = {"model": "model", "due_date": "due-date baseline", "customer_average": "customer-average baseline"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

AsOf = Annotated[str | None, Query(alias="as_of", description="YYYY-MM-DD; default the ledger's today")]
CompanyKey = Annotated[str | None, Query(alias="company", description="LEDGER/TENANT; default the first")]


# --- which books -------------------------------------------------------------------------------------------


def report_ledgers(request: Request) -> Mapping[str, LedgerPort]:
    """The ledger companies to report on: the configured ones, else the dev stack's sandbox and every company
    connected in the store (built once per app)."""
    config = web_config(request)
    if config.ledgers is not None:
        return config.ledgers
    cached: Mapping[str, LedgerPort] | None = getattr(request.app.state, "report_ledgers", None)
    if cached is None:
        from adapters.ledgers.sandbox import SandboxLedger
        from workers.connect import ConnectedLedgers
        from workers.settings import read_stack

        stack = read_stack(config.home) if config.home is not None else None
        sandbox_db = os.environ.get("DUECOURSE_SANDBOX_DB") or (stack.sandbox_db if stack else None)
        fixed: dict[str, LedgerPort] = {}
        if sandbox_db:
            tenant = stack.tenant if stack else "demo"
            fixed[f"sandbox/{tenant}"] = SandboxLedger(sandbox_db, tenant=tenant)
        cached = ConnectedLedgers(fixed, config.store, config.home) if config.home is not None else fixed
        request.app.state.report_ledgers = cached
        request.app.state.report_fixed_ledgers = fixed
    return cached


@dataclass(frozen=True)
class Company:
    key: str
    ledger: str
    tenant: str
    port: LedgerPort


def _companies(request: Request) -> list[str]:
    ledgers = report_ledgers(request)
    try:
        return list(ledgers)
    except Exception:  # a connected company whose client cannot be built: the sandbox still reports
        return list(getattr(request.app.state, "report_fixed_ledgers", {}))


def _company(request: Request, key: str | None) -> Company:
    keys = _companies(request)
    if not keys:
        raise HTTPException(404, "no ledger to report on: start `duecourse dev` (the sandbox ledger) or connect "
                                 "one with `duecourse connect`")
    chosen = keys[0] if not key else key.strip()
    if chosen not in keys:
        raise HTTPException(404, f"no ledger company {chosen!r}; one of: {', '.join(keys)}")
    ledger, _, tenant = chosen.partition("/")
    return Company(chosen, ledger, tenant, report_ledgers(request)[chosen])


def _today(config: WebConfig) -> date:
    today: date = config.defaults.clock.today(datetime.now(UTC), "UTC")
    return today


def _day(text: str | None, today: date) -> date:
    if text is None or not text.strip():
        return today
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise HTTPException(400, f"as_of: not a date: {text!r} (write it as YYYY-MM-DD)") from None


@dataclass(frozen=True)
class Standing:
    """One company's books and the day to report on."""

    company: Company
    companies: list[str]
    books: Books
    names: dict[str, str]
    as_of: date
    today: date


def _read(port: LedgerPort, today: date) -> tuple[Books, dict[str, str]]:
    return books_from_ledger(port, today), {c.id: c.name for c in port.list_customers()}


async def standing(request: Request, as_of: str | None, company: str | None) -> Standing:
    config = web_config(request)
    today = _today(config)
    day = _day(as_of, today)
    found = _company(request, company)
    try:
        books, names = await asyncio.to_thread(_read, found.port, today)
    except LedgerError as error:
        raise HTTPException(502, f"could not read the ledger {found.key}: {error}") from error
    return Standing(found, _companies(request), books, names, day, today)


def _whole(name: str, text: str | None, default: int, low: int, high: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"{name}: not a whole number: {text!r}") from None
    if not low <= value <= high:
        raise HTTPException(400, f"{name}: must be between {low} and {high}, got {value}")
    return value


def _grades(text: str | None) -> frozenset[str]:
    grades = frozenset(g.strip().upper() for g in (text or "").split(",") if g.strip())
    unknown = sorted(grades - set("ABCDE"))
    if unknown:
        raise HTTPException(400, f"grade: unknown risk grade {', '.join(unknown)} (A to E, comma-separated)")
    return grades


def _meta(state: Standing) -> dict[str, Any]:
    return {"company": state.company.key}


# --- who may read ------------------------------------------------------------------------------------------


def may_read(request: Request, approver: SessionApprover, config: ConfigDep,
             authorization: str | None = Header(default=None)) -> bool:
    """The dev stack's open reads, a signed-in approver (the pages, the CSV links) or a bearer token."""
    if config.open_reads or approver is not None:
        return True
    if authorization and authorization.lower().startswith("bearer "):
        return config.store.approver_by_token(authorization[7:].strip()) is not None
    return False


MayRead = Annotated[bool, Depends(may_read)]


# --- JSON -------------------------------------------------------------------------------------------------


@router.get("/api/reports/aging", dependencies=[Depends(reads_allowed)])
async def aging_api(request: Request, as_of: AsOf = None, company: CompanyKey = None) -> JSONResponse:
    state = await standing(request, as_of, company)
    return JSONResponse({**aging(state.books, state.as_of, state.names).to_json(), **_meta(state)})


@router.get("/api/reports/kpis", dependencies=[Depends(reads_allowed)])
async def kpis_api(request: Request, as_of: AsOf = None, company: CompanyKey = None, days: str | None = None,
                   months: str | None = None) -> JSONResponse:
    period, trend = _whole("days", days, HEADLINE_DAYS, 1, 3660), _whole("months", months, TREND_MONTHS, 0, 120)
    state = await standing(request, as_of, company)
    report = kpi_report(state.books, state.as_of, days=period, months=trend)
    return JSONResponse({**report.to_json(), **_meta(state)})


@router.get("/api/reports/forecast", dependencies=[Depends(reads_allowed)])
async def forecast_api(request: Request, as_of: AsOf = None, company: CompanyKey = None, weeks: str | None = None,
                       backtest: str | None = None) -> JSONResponse:
    count = _whole("weeks", weeks, FORECAST_WEEKS, 1, 104)
    months = _whole("backtest", backtest, 0, 0, 36)
    state = await standing(request, as_of, company)
    return JSONResponse(await asyncio.to_thread(_forecast_document, state, count, months))


def _forecast_document(state: Standing, weeks: int, months: int) -> dict[str, Any]:
    forecast = cash_forecast(state.books, state.as_of, weeks=weeks)
    document: dict[str, Any] = {
        "as_of": state.as_of.isoformat(), "weeks": weeks, "open_invoices": len(forecast.invoices),
        "currencies": [f.to_json() for f in forecast.forecasts],
        "invoices": [{**i.to_json(), "customer_id": i.customer_id, "currency": i.currency, "balance": str(i.balance)}
                     for i in forecast.invoices],
        **_meta(state),
    }
    if months:
        checked = forecast_against_actual(state.books, state.as_of, months=months, weeks=weeks)
        document["backtest"] = None if checked is None else {
            **checked.to_json(), "month_ahead": [m.to_json() for m in month_ahead(checked)]}
    return document


@router.get("/api/reports/worklist", dependencies=[Depends(reads_allowed)])
async def worklist_api(request: Request, as_of: AsOf = None, company: CompanyKey = None, owner: str | None = None,
                       stage: str | None = None, grade: str | None = None) -> JSONResponse:
    which = WorklistFilter(owner=owner or None, stage=stage or None, grades=_grades(grade))
    state = await standing(request, as_of, company)
    return JSONResponse(await _worklist_document(request, state, which))


async def _worklist_document(request: Request, state: Standing, which: WorklistFilter) -> dict[str, Any]:
    config = web_config(request)
    client = getattr(request.app.state, "client", None)
    if client is None:
        facts: Mapping[str, Any] = {}
        note: str | None = "the web app has no Temporal client"
    else:
        facts, note = await read_lifecycles(client, state.company.ledger, state.company.tenant, config.store,
                                            config.defaults.clock)
    result = worklist(state.books, state.as_of, facts, which, state.names)
    return {**result.to_json(), **_meta(state), "lifecycles": note is None, "lifecycles_note": note}


# --- CSV --------------------------------------------------------------------------------------------------------


def _csv(name: str, state: Standing, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in row] for row in rows])
    filename = f"{name}-{state.as_of.isoformat()}.csv"
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _cell(value: Any) -> str:
    """A text cell a spreadsheet would evaluate (=HYPERLINK(...), +cmd, @SUM) is quoted; numbers stay numbers."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal):
        return str(value)
    text = str(value)
    if not text.startswith(_FORMULA_START):
        return text
    try:
        if Decimal(text).is_finite():  # a negative amount is a number, not a formula
            return text
    except ArithmeticError:
        pass
    return "'" + text


def _refused() -> HTTPException:
    return HTTPException(401, "sign in (an approver's link) or send a token (Authorization: Bearer TOKEN)")


@router.get("/reports/aging.csv")
async def aging_csv(request: Request, allowed: MayRead, as_of: AsOf = None, company: CompanyKey = None) -> Response:
    if not allowed:
        raise _refused()
    state = await standing(request, as_of, company)
    document = aging(state.books, state.as_of, state.names).to_json()
    rows = []
    for currency in document["currencies"]:
        rows.append([currency["currency"], "", "all customers", currency["open_invoices"],
                     *currency["buckets"].values(), currency["total"]])
        rows += [[currency["currency"], c["customer_id"], c["customer_name"], c["open_invoices"],
                  *c["buckets"].values(), c["total"]] for c in currency["customers"]]
    header = ["currency", "customer_id", "customer_name", "open_invoices", *LABELS, "total"]
    return _csv("aging", state, header, rows)


@router.get("/reports/kpis.csv")
async def kpis_csv(request: Request, allowed: MayRead, as_of: AsOf = None, company: CompanyKey = None,
                   days: str | None = None, months: str | None = None) -> Response:
    if not allowed:
        raise _refused()
    period, trend = _whole("days", days, HEADLINE_DAYS, 1, 3660), _whole("months", months, TREND_MONTHS, 0, 120)
    state = await standing(request, as_of, company)
    document = kpi_report(state.books, state.as_of, days=period, months=trend).to_json()
    fields = ("from", "to", "days", "opening_ar", "sales", "closing_ar", "closing_current_ar", "collected", "dso",
              "best_possible_dso", "add", "cei")
    rows = []
    for currency in document["currencies"]:
        rows.append([currency["currency"], "period", *(currency[f] for f in fields)])
        rows += [[currency["currency"], month["month"], *(month[f] for f in fields)] for month in currency["trend"]]
    return _csv("kpis", state, ["currency", "month", *fields], rows)


@router.get("/reports/forecast.csv")
async def forecast_csv(request: Request, allowed: MayRead, as_of: AsOf = None, company: CompanyKey = None,
                       weeks: str | None = None) -> Response:
    if not allowed:
        raise _refused()
    count = _whole("weeks", weeks, FORECAST_WEEKS, 1, 104)
    state = await standing(request, as_of, company)
    document = await asyncio.to_thread(_forecast_document, state, count, 0)
    rows = [[c["currency"], n, w["start"], w["end"], w["expected"], w["low"], w["high"]]
            for c in document["currencies"] for n, w in enumerate(c["weeks"], start=1)]
    return _csv("forecast", state, ["currency", "week", "start", "end", "expected", "low", "high"], rows)


@router.get("/reports/worklist.csv")
async def worklist_csv(request: Request, allowed: MayRead, as_of: AsOf = None, company: CompanyKey = None,
                       owner: str | None = None, stage: str | None = None, grade: str | None = None) -> Response:
    if not allowed:
        raise _refused()
    which = WorklistFilter(owner=owner or None, stage=stage or None, grades=_grades(grade))
    state = await standing(request, as_of, company)
    document = await _worklist_document(request, state, which)
    fields = ("rank", "invoice_id", "invoice_number", "customer_id", "customer_name", "amount_due", "due_date",
              "days_overdue", "risk_score", "risk_grade", "at_stake", "urgency", "priority", "stage", "owner",
              "promise_until", "dispute")
    rows = [[c["currency"], *(row[f] for f in fields), "; ".join(row["why"])]
            for c in document["currencies"] for row in c["invoices"]]
    return _csv("worklist", state, ["currency", *fields, "why"], rows)


# --- pages ----------------------------------------------------------------------------------------------------


@router.get("/reports", response_class=HTMLResponse)
async def reports_page(request: Request, approver: SessionApprover, config: ConfigDep, as_of: AsOf = None,
                       company: CompanyKey = None) -> Response:
    if approver is None and not config.open_reads:
        return signin_needed(request)
    try:
        state = await standing(request, as_of, company)
    except HTTPException as problem:
        return TEMPLATES.TemplateResponse(request, "reports.html", {
            "approver": approver, "problem": problem.detail, "as_of": as_of or ""}, status_code=problem.status_code)
    figures = await asyncio.to_thread(_page_figures, state)
    return TEMPLATES.TemplateResponse(request, "reports.html", {
        "approver": approver, "problem": None, "state": state, "as_of": state.as_of.isoformat(),
        "query": _query(state), **figures})


def _page_figures(state: Standing) -> dict[str, Any]:
    """Everything the reports page shows, charts included (CPU work: run off the event loop)."""
    aged = aging(state.books, state.as_of, state.names)
    kpis = kpi_report(state.books, state.as_of)
    forecast = cash_forecast(state.books, state.as_of)
    checked = forecast_against_actual(state.books, state.as_of, months=BACKTEST_MONTHS)
    ahead = month_ahead(checked) if checked is not None else []
    return {
        "aging": aged.to_json(),
        "aging_charts": _aging_charts(aged),
        "kpis": kpis.to_json(),
        "kpi_charts": _kpi_charts(kpis),
        "forecast": [f.to_json() for f in forecast.forecasts],
        "forecast_charts": {f.currency: bar_chart(
            f"{f.currency}: expected cash-in per week, with the 10th-90th percentile range",
            [w.start.strftime("%m-%d") for w in f.weeks], [Series("expected", [float(w.expected) for w in f.weeks])],
            ranges=[(float(w.low), float(w.high)) for w in f.weeks], css_class="forecast-chart")
            for f in forecast.forecasts},
        "backtest": checked,
        "backtest_charts": _backtest_charts(ahead),
        "model_names": _MODEL_NAMES,
    }


def _aging_charts(report: AgingReport) -> dict[str, Any]:
    return {c.currency: bar_chart(f"{c.currency}: open AR by days past due", LABELS,
                                  [Series(c.currency, [float(c.overall.buckets[label]) for label in LABELS])],
                                  css_class="aging-chart")
            for c in report.currencies}


def _kpi_charts(report: KpiReport) -> dict[str, tuple[Any, Any]]:
    charts = {}
    for c in report.currencies:
        months = [f.end.strftime("%Y-%m") for f in c.trend]
        days = line_chart(f"{c.currency}: DSO, best-possible DSO and ADD by month (days)", months, [
            Series("DSO", [f.dso for f in c.trend]), Series("best possible", [f.best_possible_dso for f in c.trend]),
            Series("ADD", [f.add for f in c.trend])], css_class="kpi-chart")
        cei = line_chart(f"{c.currency}: CEI by month", months, [Series("CEI", [f.cei for f in c.trend])], unit="%",
                         css_class="kpi-chart")
        charts[c.currency] = (days, cei)
    return charts


def _backtest_charts(ahead: Sequence[MonthAhead]) -> dict[str, Any]:
    charts = {}
    for currency in sorted({m.currency for m in ahead}):
        mine = [m for m in ahead if m.currency == currency]
        weeks = mine[0].weeks
        series = [Series(_MODEL_NAMES[name], [float(m.expected[name]) for m in mine]) for name in _MODEL_NAMES]
        series.append(Series("actual", [float(m.actual) for m in mine]))
        charts[currency] = bar_chart(
            f"{currency}: cash in the {weeks} weeks after each month-end, forecast against actual",
            [m.month_end.isoformat() for m in mine], series, css_class="backtest-chart")
    return charts


def _query(state: Standing) -> str:
    from urllib.parse import urlencode

    return urlencode({"as_of": state.as_of.isoformat(), "company": state.company.key})


@router.get("/reports/worklist", response_class=HTMLResponse)
async def worklist_page(request: Request, approver: SessionApprover, config: ConfigDep, as_of: AsOf = None,
                        company: CompanyKey = None, owner: str | None = None, stage: str | None = None,
                        grade: str | None = None) -> Response:
    if approver is None and not config.open_reads:
        return signin_needed(request)
    try:
        which = WorklistFilter(owner=owner or None, stage=stage or None, grades=_grades(grade))
        state = await standing(request, as_of, company)
    except HTTPException as problem:
        return TEMPLATES.TemplateResponse(request, "report_worklist.html", {
            "approver": approver, "problem": problem.detail, "as_of": as_of or ""}, status_code=problem.status_code)
    document = await _worklist_document(request, state, which)
    return TEMPLATES.TemplateResponse(request, "report_worklist.html", {
        "approver": approver, "problem": None, "state": state, "as_of": state.as_of.isoformat(), "doc": document,
        "owner": owner or "", "stage": stage or "", "grade": grade or "", "nobody": NOBODY, "query": _query(state)})


__all__ = ["report_ledgers", "router"]
