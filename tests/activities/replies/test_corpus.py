"""The corpus (`corpus.py`): every reply gets the kind and the date a person reading it would record."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from activities.replies import classify
from activities.replies.model import PRECEDENCE, Reply
from tests.activities.replies.corpus import CORPUS, Case


@pytest.mark.parametrize("case", CORPUS, ids=[case.id for case in CORPUS])
def test_reply_is_read_as_a_person_reads_it(case: Case) -> None:
    verdict = classify(Reply(subject=case.subject, body=case.body), date.fromisoformat(case.received))
    got = (verdict.kind, verdict.date.isoformat() if verdict.date else None)
    assert got == (case.kind, case.date), f"{case.id}: decided by {verdict.evidence!r}"


def test_corpus_covers_every_kind_and_language() -> None:
    kinds = Counter(case.kind for case in CORPUS)
    assert set(kinds) == set(PRECEDENCE)
    assert min(kinds.values()) >= 8
    # Replies in each language other than English: ids name them ("-de", "-fr", ...) or the subject does.
    for marker in ("AW:", "RE: Relance", "RE: Recordatorio", "RE: Herinnering", "R: Sollecito", "RES: Lembrete"):
        assert sum(1 for case in CORPUS if case.subject.startswith(marker)) >= 3, marker
