"""Payer names against customer names: normalisation and similarity."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from activities.cash_matching import name_similarity, normalise_name


def test_name_similarity_tells_companies_apart() -> None:
    def score(payer: str, customer: str) -> float:
        return name_similarity(normalise_name(payer, payer=True), normalise_name(customer))

    assert score("ACME CORP", "Acme Corporation Inc") == 1.0
    assert score("ACME INDUSTRAIL SUPPLIES", "Acme Industrial Supplies LLC") >= 0.9
    assert score("ACME INDUSTRIAL SU", "Acme Industrial Supplies LLC") >= 0.9
    assert score("ACMECORP", "Acme Corp") == 1.0
    assert score("APEX LOGISTICS", "Apex Foods Inc") < 0.7
    assert score("ZENITH HOLDINGS", "Acme Corp") < 0.3


def test_legal_suffixes_and_bank_prefixes_are_dropped() -> None:
    assert normalise_name("The Müller & Söhne GmbH").core == "muller sohne"
    assert normalise_name("ACH CREDIT ACME CORP", payer=True).core == "acme"
    assert normalise_name("Acme S.A. de C.V.").core == "acme"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.text(max_size=60))
def test_name_similarity_is_a_score_between_0_and_1(payer: str, customer: str) -> None:
    score = name_similarity(normalise_name(payer, payer=True), normalise_name(customer))
    assert 0.0 <= score <= 1.0
