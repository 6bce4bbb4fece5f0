"""The weekly narrative: the template's text from the reports, and the fact check that keeps an LLM honest."""

from __future__ import annotations

from typing import Any

from activities.reports.narrative import choose_narrative, narrative_facts, template_narrative, unsupported_figures

AGING = {"as_of": "2025-06-30", "currencies": [{
    "currency": "EUR", "open_invoices": 4, "total": "12500.00",
    "buckets": {"current": "5000.00", "1-30": "4000.00", "31-60": "0.00", "61-90": "1000.00", "90+": "2500.00"},
    "shares": {"current": 40.0, "1-30": 32.0, "31-60": 0.0, "61-90": 8.0, "90+": 20.0}}]}
KPIS = {"as_of": "2025-06-30", "currencies": [{"currency": "EUR", "days": 90, "dso": 41.25, "cei": 77.0}]}
FORECAST = {"as_of": "2025-06-30", "forecasts": [{"currency": "EUR", "days_30": "4200.50", "days_60": "7100.00",
                                                   "days_90": "9800.00", "weeks": []}]}
WORKLIST = {"as_of": "2025-06-30", "currencies": [{"currency": "EUR", "invoices": [
    {"customer_name": "Fischer Maschinenbau AG", "invoice_number": "RE-2041", "amount_due": "2500.00",
     "days_overdue": 104},
    {"customer_name": "Café Lumière SARL", "invoice_number": "RE-2077", "amount_due": "1000.00", "days_overdue": 66},
]}]}


def facts() -> dict[str, Any]:
    return narrative_facts(AGING, KPIS, FORECAST, WORKLIST)


def test_the_template_says_the_reports_figures() -> None:
    text = template_narrative(facts())
    assert text == (
        "AR for the week to 2025-06-30.\n\n"
        "EUR 12,500.00 is open on 4 invoices; 7,500.00 of it is overdue (60.0% of the balance), 2,500.00 by more "
        "than 90 days. Over the last 90 days DSO was 41.2 days and CEI 77.0%. Expected cash in: 4,200.50 within "
        "30 days, 7,100.00 within 60 and 9,800.00 within 90. First on the worklist: Fischer Maschinenbau AG "
        "(RE-2041, 2,500.00, 104 days overdue); Café Lumière SARL (RE-2077, 1,000.00, 66 days overdue)."
    )
    assert unsupported_figures(text, facts()) == []  # the template passes its own check


def test_an_llm_text_citing_only_facts_is_kept() -> None:
    written = ("Overdue receivables reached EUR 7,500 (60% of 12500.00). Fischer Maschinenbau's RE-2041 is 104 days "
               "late; about 4200.50 should arrive within 30 days.")
    chosen = choose_narrative(facts(), written, model="gpt-4o-mini")
    assert (chosen.written_by, chosen.text, chosen.unsupported) == ("gpt-4o-mini", written, ())


def test_an_invented_figure_sends_the_text_back_to_the_template() -> None:
    written = "Overdue receivables reached EUR 7,500, up 12% on last week; DSO is 45 days."
    chosen = choose_narrative(facts(), written, model="gpt-4o-mini")
    assert chosen.written_by == "template" and chosen.text == template_narrative(facts())
    assert chosen.unsupported == ("12", "45")
    assert "12, 45" in chosen.note and "template" in chosen.note


def test_without_an_llm_the_template_answers_and_says_why() -> None:
    chosen = choose_narrative(facts(), None, failure="no endpoint configured")
    assert chosen.written_by == "template" and chosen.note == "the LLM was not used: no endpoint configured"
