"""The customer's own words: the quoted reminder, headers, signatures and disclaimers are taken away."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from activities.replies.plain_text import fold, readable
from activities.replies.quoting import fresh_text
from tests.activities.replies import mail

ANSWER = "We paid this yesterday."


@pytest.mark.parametrize(
    "client",
    [mail.gmail, mail.outlook, mail.original_message, mail.apple, mail.outlook_de, mail.gmail_de, mail.gmail_fr,
     mail.outlook_fr, mail.gmail_es, mail.outlook_es, mail.gmail_nl, mail.outlook_nl, mail.gmail_it,
     mail.outlook_it, mail.gmail_pt, mail.outlook_pt],
)
def test_the_quoted_reminder_is_removed_whatever_the_client(client: Callable[[str], str]) -> None:
    assert fresh_text(client(ANSWER)) == ANSWER


@pytest.mark.parametrize("client", [mail.gmail_html, mail.outlook_html])
def test_html_quotes_are_removed_too(client: Callable[[str], str]) -> None:
    assert fresh_text(readable(client("We&nbsp;paid this <b>yesterday</b>."))) == "We paid this yesterday."


def test_an_answer_between_quoted_lines_is_kept() -> None:
    body = ("On Tue, 3 Mar 2026 at 09:00, Acme <ar@acme.example> wrote:\n> Invoice INV-1042 is overdue.\n\n"
            "It was paid on Monday.\n\n> Please pay at your earliest convenience.\nThanks")
    assert fresh_text(body) == "It was paid on Monday.\n\nThanks"


def test_signatures_and_disclaimers_end_the_answer() -> None:
    body = ("Hi,\n\nWe will pay on Friday.\n\nKind regards,\nTom Baker\nAccounts Payable | Globex Payments Ltd\n"
            "T +44 20 7946 0000")
    assert fresh_text(body) == "Hi,\n\nWe will pay on Friday."
    assert fresh_text("We will pay on Friday.\n-- \nTom Baker, payments overdue? call us") == "We will pay on Friday."
    assert fresh_text("We will pay on Friday.\n\nSent from my iPhone") == "We will pay on Friday."
    assert fresh_text("Wir zahlen am Freitag.\n\nVon meinem iPhone gesendet") == "Wir zahlen am Freitag."
    disclaimer = ("We will pay on Friday.\n\nThis e-mail and any attachments are confidential and intended solely "
                  "for the addressee; if payment details have changed, call us.")
    assert fresh_text(disclaimer) == "We will pay on Friday."


def test_a_greeting_or_thanks_at_the_top_ends_nothing() -> None:
    assert fresh_text("Thanks!\nWe paid yesterday.") == "Thanks!\nWe paid yesterday."
    assert fresh_text("Regards\n\nwe paid yesterday") == "Regards\n\nwe paid yesterday"


def test_outlook_header_block_on_one_line() -> None:
    body = "We will pay tomorrow. From: Acme AR Sent: Tuesday To: Jane Subject: overdue"
    assert fresh_text(f"We will pay tomorrow.\n{body.split('. ', 1)[1]}\nPlease pay now.") == "We will pay tomorrow."


def test_fold_reads_accents_apostrophes_and_invoice_numbers_alike() -> None:
    assert fold("Überwiesen am 3. März — we’ve PAID Nº 1042, n° 7") == "uberwiesen am 3. marz - we've paid #1042, #7"
    assert fold("Paid ✅ on 3/3 🙏") == "paid on 3/3"


def test_readable_survives_broken_text() -> None:
    assert readable("We paid \ud83d yesterday") == "We paid \ufffd yesterday"
    assert readable("<p>a &amp; b</p><script>pay()</script><style>p{}</style>") == "a & b"
    assert readable("<p>unclosed <a href='x'" + "<b" * 10_000).startswith("unclosed")
