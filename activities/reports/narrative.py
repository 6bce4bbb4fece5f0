"""The weekly AR narrative for finance leads: a few sentences on aging, KPIs, forecast and the worklist's top items.

Pure. `narrative_facts` takes the reports' own JSON documents (aging, kpis, forecast, worklist, as
`duecourse report ... --json` prints them) and names the figures a narrative may cite. `template_narrative`
writes the deterministic text from them. `unsupported_figures` is the fact check: every number in a text must
be one of the facts' figures (with or without thousands separators), a date part of one, or a window's length
(13 weeks, 30/60/90 days); `choose_narrative` keeps an LLM's text only when nothing in it is unsupported, and
otherwise answers the template's text and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

TOP_ITEMS = 3
# The windows the reports speak in: a narrative may name them without their being figures.
WINDOW_NUMBERS = frozenset({"7", "13", "30", "60", "90", "1", "31", "61", "91"})
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class Narrative:
    text: str
    written_by: str  # "template" or the model's name
    unsupported: tuple[str, ...] = ()  # the figures that sent an LLM's text back to the template
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "written_by": self.written_by, "unsupported": list(self.unsupported),
                "note": self.note}


def _grouped(amount: str) -> str:
    value = Decimal(amount)
    return f"{value:,.2f}" if value != value.to_integral_value() or "." in amount else f"{value:,.0f}"


def narrative_facts(aging: dict[str, Any], kpis: dict[str, Any], forecast: dict[str, Any],
                    worklist: dict[str, Any]) -> dict[str, Any]:
    """Per currency: the figures the narrative speaks of, already written as it writes them."""
    currencies: dict[str, dict[str, Any]] = {}
    for block in aging.get("currencies", []):
        buckets = block["buckets"]
        overdue = sum((Decimal(v) for k, v in buckets.items() if k != "current"), Decimal(0))
        currencies.setdefault(block["currency"], {}).update({
            "open_total": _grouped(block["total"]), "open_invoices": str(block["open_invoices"]),
            "overdue": _grouped(str(overdue)), "over_90": _grouped(buckets.get("90+", "0")),
            "overdue_share": f"{100 - float(block['shares'].get('current', 0)):.1f}",
        })
    for block in kpis.get("currencies", []):
        figures = currencies.setdefault(block["currency"], {})
        figures["dso"] = "n/a" if block.get("dso") is None else f"{block['dso']:.1f}"
        figures["cei"] = "n/a" if block.get("cei") is None else f"{block['cei']:.1f}"
        figures["kpi_days"] = str(block.get("days", ""))
    for block in forecast.get("forecasts", []):
        figures = currencies.setdefault(block["currency"], {})
        for days in (30, 60, 90):
            figures[f"cash_{days}"] = _grouped(block[f"days_{days}"])
    for block in worklist.get("currencies", []):
        figures = currencies.setdefault(block["currency"], {})
        figures["top"] = [{"customer": row["customer_name"], "invoice": row["invoice_number"],
                           "amount": _grouped(row["amount_due"]), "days_overdue": str(row["days_overdue"])}
                          for row in block.get("invoices", [])[:TOP_ITEMS]]
    return {"as_of": aging.get("as_of") or kpis.get("as_of"), "currencies": currencies}


def template_narrative(facts: dict[str, Any]) -> str:
    paragraphs = [f"AR for the week to {facts['as_of']}."]
    for currency, f in sorted(facts["currencies"].items()):
        sentences = []
        if "open_total" in f:
            sentences.append(f"{currency} {f['open_total']} is open on {f['open_invoices']} invoices; {f['overdue']} "
                             f"of it is overdue ({f['overdue_share']}% of the balance), {f['over_90']} by more than "
                             "90 days.")
        if "dso" in f:
            sentences.append(f"Over the last {f['kpi_days']} days DSO was {f['dso']} days and CEI {f['cei']}%.")
        if "cash_30" in f:
            sentences.append(f"Expected cash in: {f['cash_30']} within 30 days, {f['cash_60']} within 60 and "
                             f"{f['cash_90']} within 90.")
        if f.get("top"):
            items = "; ".join(f"{t['customer']} ({t['invoice']}, {t['amount']}, {t['days_overdue']} days overdue)"
                              for t in f["top"])
            sentences.append(f"First on the worklist: {items}.")
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def _normal(number: str) -> str:
    try:
        value = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return number
    return format(value.normalize(), "f")  # 7,500 = 7500.00 = 7500


def _allowed(facts: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(facts, dict):
        for value in facts.values():
            found |= _allowed(value)
    elif isinstance(facts, list):
        for value in facts:
            found |= _allowed(value)
    elif facts is not None:
        text = str(facts)
        found |= {_normal(n) for n in _NUMBER.findall(text)}  # dates and invoice numbers give their parts too
    return found


def unsupported_figures(text: str, facts: dict[str, Any]) -> list[str]:
    """The numbers in `text` that are none of the facts' figures (in the order they appear, once each)."""
    allowed = _allowed(facts) | {_normal(n) for n in WINDOW_NUMBERS}
    found: list[str] = []
    for number in _NUMBER.findall(text):
        cleaned = number.rstrip(",")
        if _normal(cleaned) not in allowed and cleaned not in found:
            found.append(cleaned)
    return found


def choose_narrative(facts: dict[str, Any], written: str | None = None, model: str | None = None,
                     failure: str | None = None) -> Narrative:
    """The LLM's text when it cites only the facts; else the template's, saying why."""
    template = template_narrative(facts)
    if written is None:
        note = f"the LLM was not used: {failure}" if failure else ""
        return Narrative(template, "template", note=note)
    unsupported = unsupported_figures(written, facts)
    if unsupported:
        return Narrative(template, "template", tuple(unsupported),
                         f"the LLM's narrative cited figures not in the reports ({', '.join(unsupported)}); "
                         "this is the template's text instead")
    return Narrative(written.strip(), model or "llm")
