"""The sandbox's mapping: what it refuses where a value enters, and rows read back as the vocabulary."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from adapters.ledger import EventOperation, InvoiceLine, Money, PermanentLedgerError
from adapters.ledgers.sandbox.mapping import (
    country_code,
    currency_code,
    customer_from_row,
    decimal_of,
    email_address,
    emails_to_row,
    estimate_lines_to_row,
    event_from_row,
    in_minor_units,
    time_zone_name,
)
from adapters.ledgers.sandbox.models import CustomerRow, EventRow


@pytest.mark.parametrize(
    ("value", "message"),
    [(1.5, "must be a decimal, not a float"), ("ten", "is not a number"), ("NaN", "is not a finite number"),
     (" ", "is not a number")],
)
def test_decimal_of_refuses_what_is_not_an_exact_number(value: object, message: str) -> None:
    with pytest.raises(PermanentLedgerError, match=message):
        decimal_of(value, "amount")  # type: ignore[arg-type]


def test_decimal_of_keeps_the_figure_as_given() -> None:
    assert str(decimal_of(" 12.5 ", "amount")) == "12.5" and decimal_of(7, "amount") == Decimal("7")


@pytest.mark.parametrize(
    ("amount", "currency", "ok"),
    [("12.34", "USD", True), ("12.345", "USD", False), ("12.5", "EUR", True), ("1200", "JPY", True),
     ("1200.5", "JPY", False), ("1.234", "KWD", True), ("1.2345", "KWD", False)],
)
def test_amounts_are_whole_minor_units(amount: str, currency: str, ok: bool) -> None:
    if ok:
        assert in_minor_units(Decimal(amount), "line amount", currency) == Decimal(amount)
    else:
        message = f"line amount {amount} has more decimal places than {currency} has"
        with pytest.raises(PermanentLedgerError, match=re.escape(message)):
            in_minor_units(Decimal(amount), "line amount", currency)


def test_codes_addresses_and_zones() -> None:
    assert currency_code(" eur ") == "EUR" and country_code("ie") == "IE"
    assert email_address(" ap@acme.example ") == "ap@acme.example"
    assert json.loads(emails_to_row(["a@x.example", " b@x.example"])) == ["a@x.example", "b@x.example"]
    assert time_zone_name("Europe/Dublin") == "Europe/Dublin"
    refusals: list[tuple[str, Callable[[], object]]] = [
        ("currency 'EURO'", lambda: currency_code("euro")),
        ("country 'IRL'", lambda: country_code("IRL")),
        ("'nobody' is not an email address", lambda: emails_to_row(["nobody"])),
        ("unknown time zone 'Mars/Olympus'", lambda: time_zone_name("Mars/Olympus")),
        ("unknown time zone 'EST5EDT '", lambda: time_zone_name("EST5EDT ")),
    ]
    for refused, call in refusals:
        with pytest.raises(PermanentLedgerError, match=refused):
            call()


def test_customer_row_reads_as_the_vocabulary() -> None:
    row = CustomerRow(id="C-1001", serial=1, name="Acme", email="ap@acme.example",
                      alternate_emails='["billing@acme.example"]', currency="EUR", time_zone="Europe/Berlin",
                      country="DE", credit_limit=Decimal("5000.00"))
    customer = customer_from_row(row)
    assert customer.alternate_emails == ["billing@acme.example"]
    assert customer.credit_limit == Money.of("5000.00", "EUR") and customer.time_zone == "Europe/Berlin"
    assert customer_from_row(CustomerRow(id="C-2", serial=2, name="Bare")).credit_limit is None


def test_estimate_lines_and_events_round_trip() -> None:
    lines = [InvoiceLine(description="Logo", quantity=Decimal("2"), unit_price=Decimal("0.10"), amount=Decimal("0.20"))]
    assert [InvoiceLine.model_validate(line) for line in json.loads(estimate_lines_to_row(lines))] == lines
    moment = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    row = EventRow(seq=7, event_id="e" * 32, entity="Invoice", entity_id="I-2001", operation="void",
                   occurred_at=moment, next_attempt_at=moment)
    seq, event = event_from_row(row, "sandbox", "demo")
    assert seq == 7 and (event.ledger, event.tenant, event.operation) == ("sandbox", "demo", EventOperation.VOID)
    assert event.occurred_at == moment
