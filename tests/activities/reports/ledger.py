"""A small book every figure in the report tests is computed from by hand.

Balances are as they stand on BALANCES_ON (2025-07-15); the reports look at AS_OF (2025-06-30).

| invoice | customer | cur | total   | balance now | issued     | due        | paid                      |
| A1      | Acme     | USD | 1000.00 | 0           | 2025-04-01 | 2025-05-01 | 1000.00 on 2025-05-10     |
| A2      | Acme     | USD | 500.00  | 0           | 2025-05-15 | 2025-06-14 | 500.00 on 2025-07-05      |
| F1      | Acme     | USD | 2000.00 | 0           | 2025-06-05 | 2025-07-05 | 2000.00 on 2025-06-25     |
| B1      | Bolt     | USD | 2000.00 | 1200.00     | 2025-03-01 | 2025-03-31 | 800.00 on 2025-04-15      |
| B2      | Bolt     | USD | 300.00  | 300.00      | 2025-06-20 | 2025-07-20 |                           |
| C1      | Cobalt   | USD | 700.00  | 700.00      | 2025-04-10 | 2025-05-10 |                           |
| C2      | Cobalt   | USD | 400.00  | 300.00      | 2025-03-20 | 2025-04-19 | 100.00 on 2025-06-10      |
| D1      | Delft    | EUR | 900.00  | 900.00      | 2025-06-01 | 2025-06-30 |                           |
| E1      | Elm      | USD | 250.00  | 250.00      | 2025-07-02 | 2025-08-01 | (issued after AS_OF)      |
| X1      | Delft    | EUR | -100.00 | -100.00     | 2025-06-02 | 2025-06-02 | (a credit: not receivable)|

On AS_OF, days past due: A2 16 (1-30), B1 91 (90+), B2 -20 (current), C1 51 (31-60), C2 72 (61-90),
D1 0 (current: due that very day). A2's payment of 2025-07-05 has not happened yet: it is owed 500.00.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from activities.reports.books import Books

AS_OF = date(2025, 6, 30)
BALANCES_ON = date(2025, 7, 15)
NAMES = {"A": "Acme", "B": "Bolt", "C": "Cobalt", "D": "Delft", "E": "Elm"}


def invoice(invoice_id: str, total: str, balance: str, issued: str, due: str, currency: str = "USD",
            customer: str | None = None) -> OpenInvoice:
    customer = customer or invoice_id[0]
    return OpenInvoice(invoice_id=invoice_id, invoice_number=f"INV-{invoice_id}", customer_id=customer,
                       customer_name=NAMES[customer], currency=currency, total=Decimal(total),
                       balance=Decimal(balance), issue_date=date.fromisoformat(issued),
                       due_date=date.fromisoformat(due))


def paid(invoice_id: str, on: str, amount: str) -> AppliedPayment:
    return AppliedPayment(f"P-{invoice_id}-{on}", invoice_id, date.fromisoformat(on), Decimal(amount))


INVOICES = [
    invoice("A1", "1000.00", "0.00", "2025-04-01", "2025-05-01"),
    invoice("A2", "500.00", "0.00", "2025-05-15", "2025-06-14"),
    invoice("F1", "2000.00", "0.00", "2025-06-05", "2025-07-05", customer="A"),
    invoice("B1", "2000.00", "1200.00", "2025-03-01", "2025-03-31"),
    invoice("B2", "300.00", "300.00", "2025-06-20", "2025-07-20"),
    invoice("C1", "700.00", "700.00", "2025-04-10", "2025-05-10"),
    invoice("C2", "400.00", "300.00", "2025-03-20", "2025-04-19"),
    invoice("D1", "900.00", "900.00", "2025-06-01", "2025-06-30", "EUR"),
    invoice("E1", "250.00", "250.00", "2025-07-02", "2025-08-01"),
    invoice("X1", "-100.00", "-100.00", "2025-06-02", "2025-06-02", "EUR", customer="D"),
]
PAYMENTS = [
    paid("A1", "2025-05-10", "1000.00"),
    paid("A2", "2025-07-05", "500.00"),
    paid("F1", "2025-06-25", "2000.00"),
    paid("B1", "2025-04-15", "800.00"),
    paid("C2", "2025-06-10", "100.00"),
]


def books() -> Books:
    return Books.of(INVOICES, PAYMENTS, BALANCES_ON)
