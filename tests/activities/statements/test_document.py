"""The statement PDF, read back as a customer's PDF viewer would."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pypdf

from activities.cash_matching.model import OpenInvoice
from activities.forecasting.history import AppliedPayment
from activities.reports.books import Books
from activities.statements.document import printable, render_pdf
from activities.statements.statement import statement


def text_of(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def books(invoices: int = 1) -> Books:
    rows = [OpenInvoice(f"I{n}", f"INV-{n:04d}", "C1", "x", "EUR", Decimal("1234.50"),
                        Decimal("1000.00") if n == 0 else Decimal("1234.50"), date(2026, 2, 3), date(2026, 3, 5))
            for n in range(invoices)]  # the first one paid 234.50
    paid = [AppliedPayment("PAY-9", "I0", date(2026, 2, 20), Decimal("234.50"))]
    return Books.of(rows, paid, date(2026, 3, 1))


def test_the_figures_and_the_name_are_in_the_pdf() -> None:
    pdf = render_pdf(statement(books(), "C1", "Müller & Söhne GmbH", date(2026, 2, 1), date(2026, 2, 28)),
                     "Demo Co")
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in ("Müller & Söhne GmbH", "Statement of account 2026-02-01 to 2026-02-28", "Account summary (EUR)",
                     "EUR 0.00", "EUR 1,234.50", "EUR -234.50", "EUR 1,000.00", "INV-0000", "PAY-9"):
        assert expected in text, expected


def test_a_hostile_name_is_shown_as_text_and_breaks_nothing() -> None:
    hostile = "Evil) Tj ET <script>\x00\x1b[31m\u202egnp.exe\u200b ) \\ (endobj %%EOF 日本"
    pdf = render_pdf(statement(books(), "C1", hostile, date(2026, 2, 1), date(2026, 2, 28)), hostile)
    text = text_of(pdf)
    assert "Evil) Tj ET <script>[31mgnp.exe ) \\ (endobj %%EOF ??" in text  # no glyph for the kanji: "?"
    assert "\u202e" not in text and "\x00" not in text
    assert "EUR 1,000.00" in text  # the figures still there after the name


def test_a_long_statement_runs_onto_more_pages_and_renders_the_same_twice() -> None:
    found = statement(books(120), "C1", "Big Buyer", date(2026, 2, 1), date(2026, 2, 28))
    pdf = render_pdf(found, "Demo Co")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 2
    text = text_of(pdf)
    assert "INV-0119" in text and "EUR 147,905.50" in text  # 120 x 1234.50 - 234.50
    assert render_pdf(found, "Demo Co") == pdf


def test_printable() -> None:
    assert printable("a\tb\n\nc\u200d\u202ed\x7f") == "a b cd"
