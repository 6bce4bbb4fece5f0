"""The finance lead's reports, computed: pure functions on invoices and payments, as the books stood on a day.

No I/O and no Temporal: `duecourse report ...` and the web app's reports pages read a ledger (or files) and a
stack's lifecycles, and hand the records to these.
- `books`: the receivables as they stood at the end of any day (balances rewound from the payments made since);
- `aging`: AR by bucket (current, 1-30, 31-60, 61-90, 90+ days past due), overall and per customer;
- `kpis`: DSO, best-possible DSO, ADD and CEI over a period, and their monthly trend;
- `cash_in`: the 13-week and 30/60/90-day cash-in forecast and forecast-vs-actual (`activities.forecasting`);
- `worklist`: open invoices ranked by expected loss and urgency for collectors.
Every figure is per currency; currencies are never added together.
"""

from activities.reports.aging import AgingReport, aging
from activities.reports.books import Books
from activities.reports.cash_in import cash_forecast, forecast_against_actual, month_ahead
from activities.reports.kpis import KpiReport, kpi_report
from activities.reports.worklist import LifecycleFacts, Worklist, WorklistFilter, worklist

__all__ = [
    "AgingReport",
    "Books",
    "KpiReport",
    "LifecycleFacts",
    "Worklist",
    "WorklistFilter",
    "aging",
    "cash_forecast",
    "forecast_against_actual",
    "kpi_report",
    "month_ahead",
    "worklist",
]
