"""A statement as a PDF: what the customer receives attached to the statement mail.

Drawn with reportlab (BSD, maintained since 2000, pure Python wheels). It was chosen over fpdf2 because it
ships TrueType fonts inside the package (Bitstream Vera), so text is embedded as Unicode with no font
downloaded or looked up on the machine; fpdf2's built-in fonts are Latin-1 only and it bundles no TTF.

Customer text (names, invoice numbers, payment ids) is data, never markup: it is drawn with `drawString`,
which takes no markup, after control and bidirectional-override characters are removed and the text is cut
to fit its column, so a hostile name can neither break the PDF nor reorder or hide the figures. A character
the font has no glyph for (Vera covers Latin-1 and a little more) is shown as "?".
`invariant` output: the same statement gives the same bytes, so a retried render is the same attachment.
"""

from __future__ import annotations

import io
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import reportlab
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from activities.statements.statement import CurrencyStatement, Statement

REGULAR, BOLD = "DuecourseVera", "DuecourseVeraBold"
MARGIN = 50.0
LINE = 14.0
KIND_LABEL = {"invoice": "Invoice", "payment": "Payment", "credit": "Credit"}


@lru_cache(maxsize=1)
def _fonts() -> tuple[str, str]:
    folder = Path(reportlab.__file__).parent / "fonts"
    pdfmetrics.registerFont(TTFont(REGULAR, str(folder / "Vera.ttf")))
    pdfmetrics.registerFont(TTFont(BOLD, str(folder / "VeraBd.ttf")))
    return REGULAR, BOLD


def printable(text: str) -> str:
    """`text` with control, format (bidi overrides, zero-width) and unassigned characters removed and any run
    of white space as one space."""
    kept = "".join(" " if ch.isspace() else ch for ch in text
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    return " ".join(kept.split())


def drawable(text: str, font: str = REGULAR) -> str:
    """`printable(text)` with each character the font has no glyph for shown as "?" (an honest mark, where an
    empty box would read back as nothing)."""
    _fonts()
    glyphs = pdfmetrics.getFont(font).face.charToGlyph
    return "".join(ch if ord(ch) in glyphs else "?" for ch in printable(text))


def amount_text(amount: Decimal) -> str:
    return f"{amount:,}"


class _Page:
    """A cursor down A4 pages: starts a new page when the next line would not fit."""

    def __init__(self, canvas: Canvas, heading: str) -> None:
        self.canvas = canvas
        self.heading = heading
        self.width, self.height = A4
        self.y = self.height - MARGIN
        self.number = 1

    def need(self, lines: int = 1) -> None:
        if self.y - lines * LINE < MARGIN:
            self.canvas.drawString(MARGIN, MARGIN / 2, f"page {self.number}")
            self.canvas.showPage()
            self.number += 1
            self.y = self.height - MARGIN
            self.text(self.heading + " (continued)", size=8)

    def text(self, value: str, *, x: float = MARGIN, size: float = 9, bold: bool = False,
             width: float | None = None, right: bool = False) -> None:
        font = BOLD if bold else REGULAR
        room = x - MARGIN if right else self.width - MARGIN - x
        shown = _fitted(drawable(value, font), font, size, width if width is not None else room)
        self.canvas.setFont(font, size)
        if right:
            self.canvas.drawRightString(x, self.y, shown)
        else:
            self.canvas.drawString(x, self.y, shown)

    def down(self, lines: float = 1) -> None:
        self.y -= lines * LINE


def _fitted(text: str, font: str, size: float, width: float) -> str:
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text + "..."


def render_pdf(statement: Statement, company_name: str) -> bytes:
    """The statement as PDF bytes."""
    _fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=1)
    title = f"Statement of account {statement.period_start.isoformat()} to {statement.period_end.isoformat()}"
    canvas.setTitle(printable(title))
    canvas.setAuthor(printable(company_name))
    page = _Page(canvas, f"{statement.customer_name} - {title}")
    page.text(company_name, size=14, bold=True)
    page.down(1.6)
    page.text(title, size=11, bold=True)
    page.down()
    page.text(f"Customer: {statement.customer_name}")
    page.down()
    page.text(f"Account: {statement.customer_id}")
    page.down(1.6)
    if statement.is_empty:
        page.text("Nothing was owed and nothing moved on this account in the period.")
        page.down()
    for section in statement.currencies:
        _currency_section(page, section)
    canvas.drawString(MARGIN, MARGIN / 2, f"page {page.number}")
    canvas.save()
    return buffer.getvalue()


def _currency_section(page: _Page, section: CurrencyStatement) -> None:
    cur = section.currency
    right = page.width - MARGIN
    page.need(8)
    page.text(f"Account summary ({cur})", size=11, bold=True)
    page.down(1.3)
    for label, value in (("Opening balance", section.opening), ("Invoices", section.invoiced),
                         ("Payments", 0 - section.paid), ("Credits", 0 - section.credited),
                         ("Closing balance", section.closing)):
        bold = label == "Closing balance"
        page.text(label, bold=bold)
        page.text(f"{cur} {amount_text(value)}", x=right, bold=bold, right=True)
        page.down()
    page.down(0.6)
    if section.lines:
        page.need(3)
        page.text("Activity", size=10, bold=True)
        page.down()
        _row(page, ("Date", "Type", "Reference", "Detail", f"Amount ({cur})"), bold=True)
        for line in section.lines:
            signed = line.amount if line.kind == "invoice" else 0 - line.amount
            _row(page, (line.day.isoformat(), KIND_LABEL[line.kind], line.reference, line.detail,
                        amount_text(signed)))
        page.down(0.6)
    page.need(4)
    page.text(f"Aging of the closing balance ({cur}, days past due)", size=10, bold=True)
    page.down()
    labels = list(section.aging)
    step = (page.width - 2 * MARGIN) / len(labels)
    for n, label in enumerate(labels):
        page.text(label, x=MARGIN + (n + 1) * step, bold=True, right=True)
    page.down()
    for n, label in enumerate(labels):
        page.text(amount_text(section.aging[label]), x=MARGIN + (n + 1) * step, right=True)
    page.down(1.6)
    if section.open_items:
        page.need(3)
        page.text("Open invoices", size=10, bold=True)
        page.down()
        _row(page, ("Due", "Issued", "Invoice", "Days past due", f"Open ({cur})"), bold=True)
        for item in section.open_items:
            _row(page, (item.due_date.isoformat(), item.issue_date.isoformat(), item.invoice_number,
                        str(max(item.days_past_due, 0)), amount_text(item.balance)))
        page.down(0.6)


COLUMNS = (MARGIN, MARGIN + 75, MARGIN + 140, MARGIN + 280)  # left edges; the last column is right-aligned


def _row(page: _Page, cells: tuple[str, str, str, str, str], *, bold: bool = False) -> None:
    page.need()
    right = page.width - MARGIN
    widths = (70.0, 60.0, 135.0, right - COLUMNS[3] - 90)
    for x, width, cell in zip(COLUMNS, widths, cells[:4], strict=True):
        page.text(cell, x=x, width=width, bold=bold)
    page.text(cells[4], x=right, bold=bold, right=True)
    page.down()
