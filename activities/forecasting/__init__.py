"""Where the money is: payment-date predictions, the cash-in forecast, the customer risk score, the backtest.

Pure, deterministic computation on typed records (no file I/O, no Temporal): the batch commands
`duecourse forecast` / `duecourse risk` run it on files, and the product's activities run it on the ledger.
- `history`: the payment facts of each invoice as known on one day (`build_book`), nothing after it;
- `delays`: per-customer payment-delay curves, shrunk toward the book, conditioned on an invoice's age;
- `forecast`: per-invoice expected dates and amounts, weekly and 30/60/90-day cash-in with a 10-90% range;
- `risk`: the 0..1 risk score, grade and reasons per customer;
- `backtest`: the forecast as of past month-ends against what arrived, with two baselines, and the risk AUC;
- `synthetic`: a seeded two-year history with customers of known habits.
"""

from activities.forecasting.backtest import Backtest, backtest
from activities.forecasting.delays import DelayCurve, DelayModel
from activities.forecasting.forecast import CashForecast, forecast_cash
from activities.forecasting.history import AppliedPayment, Book, InvoiceHistory, build_book
from activities.forecasting.risk import RiskScore, risk_scores, score_customer
from activities.forecasting.synthetic import SyntheticBook, synthetic_history

__all__ = [
    "AppliedPayment",
    "Backtest",
    "Book",
    "CashForecast",
    "DelayCurve",
    "DelayModel",
    "InvoiceHistory",
    "RiskScore",
    "SyntheticBook",
    "backtest",
    "build_book",
    "forecast_cash",
    "risk_scores",
    "score_customer",
    "synthetic_history",
]
