"""Reading invoice numbers out of the free text of a bank memo or a remittance advice.

People write the same invoice as `INV-001042`, `INV1042`, `Inv #1042`, `invoice no. 1042`, `1042`, in lists
(`INV 1042, 1043 & 1044`, `1042/1043`), in remittance blocks with an amount per line, in EDI 820 `RMR`
segments, and behind bank prefixes (`ACH CREDIT ... TRACE 0910...`). This module only reads the text; the
engine decides which mentions name an open invoice.

A mention is *marked* when the writer said it is an invoice (a marker word, `#`, or letters such as `INV`
glued to the digits); a bare number is unmarked, and the engine trusts it only when the rest of the
evidence agrees. Numbers announced as something else (`PO 4455`, `TRACE 0910...`, `acct 7781`) are not
mentions at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_INVOICE_WORDS = frozenset(
    "invoice invoices inv invs invc invcs invno invnr bill bills billing facture factures factura fattura "
    "rechnung rechnungen rg rgnr iv faktura nota".split()
)
# Words that sit between a marker and its numbers without ending the list ("invoice no. 1042").
_LIST_WORDS = frozenset("and no nr nos num number numbers n plus".split())
# Words that announce a number which is not an invoice.
_OTHER_NUMBER_WORDS = frozenset(
    "po ponum purchase order orders ord so acct account acc accno cust customer client id trace trn tr "
    "chk check cheque chq batch seq tel phone vat tax iban bic swift contract job project case ticket store "
    "loc location branch ppd ccd ctx dda des indn ref#id sort routing aba imad omad uetr rrn auth card "
    "member mbr policy loan".split()
)
# Words after which an amount still belongs to the invoice just named ("INV-1042 amount USD 1,250.00").
_AMOUNT_WORDS = frozenset("amt amount usd eur gbp chf cad aud nzd sek nok dkk pln paid pay for".split())
_OTHER_PREFIXES = frozenset(
    "po so ord acct acc ac cust id trn tr chk chq ck ref pmt bat seq tel ph vat iban swift card cr dr".split()
)
_INVOICE_PREFIXES = frozenset("inv invc in iv si bill b f fa fac re rg r no nr n".split())

_TOKENS = re.compile(
    r"""
    (?P<date>(?<![\w.,/-])(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.]\d{1,2}[/.](?:\d{4}|\d{2}))(?![\w/-]))
  | (?P<amount>(?<![\w.,])(?:(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}|\d{1,3}(?:\.\d{3})+,\d{2}|\d+,\d{2})(?!\d))
  | (?P<code>(?<![^\W_])[^\W\d_]{1,10}[-_/.#:]{0,2}\d+(?:[-/]\d+)*(?!\d))
  | (?P<number>(?<![\d])\d+(?:[-/]\d+)*(?!\d))
  | (?P<word>[^\W\d_]+)
  | (?P<sep>[\#,;&+/|*:\n])
    """,
    re.VERBOSE,
)
# EDI 820 remittance: RMR*IV*<invoice number>*<action code>*<amount paid>
_RMR = re.compile(r"RMR\*IV\*([^*~\n]+)\*[A-Z]{0,2}\*(-?\d+(?:\.\d{1,2})?)", re.IGNORECASE)
_DIGIT_RUNS = re.compile(r"\d+")
_ANY_DIGIT = re.compile(r"\d")
_LETTERS = re.compile(r"[^\W\d_]+")
_ONE_INVOICE = re.compile(
    r"\s*(?P<marker>(?:invoice|inv|rechnung|facture|factura|bill)\.?\s*(?:no\.?|nr\.?|number)?\s*#?\s*|\#\s*)?"
    r"(?P<number>(?:INV|IN|SI)[-#/.:]?\d{1,12}|\d{1,12})\s*",
    re.IGNORECASE,
)
# A letter an OCR reading or a hurried typist puts for a digit (O for 0, I or l for 1, S for 5), between digits
# of a number: "INV-1O1234".
_OCR_SLIP = re.compile(r"(?<=\d)[OoIlS]+(?=\d)")
_OCR_DIGITS = str.maketrans("OoIlS", "00115")
_DOTTED_PO = re.compile(r"\bp\.\s?o\.?(?=\s|#|:|\d)", re.IGNORECASE)
_KEY_PARTS = re.compile(r"[A-Z]+|\d+")
# An ISO 11649 creditor reference: `RF`, two check digits, a body of 1-21 letters and digits, written compact
# (`RF18539007547034`) or in the print form's groups of four (`RF18 5390 0754 7034`).
_CREDITOR_REFERENCE = re.compile(r"(?<![^\W_])RF(\d{2})((?: ?[0-9A-Z]{1,4})+)(?![^\W_])", re.IGNORECASE)
_CREDITOR_BODY_MAX = 21

_DEDUCTION = re.compile(
    r"\b(less|deduct\w*|short\w*|damage\w*|discount\w*|return\w*|chargeback\w*|promo\w*|allowance\w*|"
    r"rebate\w*|credit\s+memo|price\s+diff\w*|pricing|dispute\w*|withh\w*|wht|retention|retainage|"
    r"missing|defect\w*|co-?op|penalty|penalties|fine|late\s+delivery|shortage|spoil\w*|breakage)\b",
    re.IGNORECASE,
)
_PARTIAL = re.compile(
    r"\b(partial\w*|part[- ]?pay\w*|part\s+payment|instal+ment\w*|on\s+account|progress\s+payment|"
    r"balance\s+to\s+follow|first\s+payment|1st\s+payment|\d+\s*(?:of|/)\s*\d+\s+payments?|payment\s+\d+\s+of\s+\d+)\b",
    re.IGNORECASE,
)
_SEGMENTS = re.compile(r"[\n;|]+")
# Every word `_DEDUCTION` / `_PARTIAL` can match contains one of these (lower case).
_DEDUCTION_HINTS = (
    "less",
    "deduct",
    "short",
    "damag",
    "discount",
    "return",
    "chargeback",
    "promo",
    "allowance",
    "rebate",
    "credit",
    "pric",
    "dispute",
    "withh",
    "wht",
    "retention",
    "retainage",
    "missing",
    "defect",
    "co-op",
    "coop",
    "penalt",
    "fine",
    "late",
    "spoil",
    "breakage",
)
_PARTIAL_HINTS = ("part", "instal", "account", "progress", "follow", "first", "1st", "payment")

# Bare numbers shorter than this are house numbers, quantities and days, not invoices.
_MIN_UNMARKED_DIGITS = 3
# Longer digit runs are account, trace and card numbers.
_MAX_DIGITS = 12


@dataclass(slots=True, frozen=True)
class InvoiceMention:
    """One invoice number as written. `keys` are the lookup keys of the whole number, tried in order;
    `parts` are the numbers of a `1042/1043` list glued into one token, each to look up on its own when
    the whole is no invoice number; `amount_cents` is the per-invoice amount of a remittance line."""

    text: str
    keys: tuple[str, ...]
    marked: bool
    amount_cents: int | None = None
    parts: tuple[str, ...] = ()
    # read through an OCR confusion (O for 0...): evidence to weigh, never certain
    near: bool = False


def _near(mention: InvoiceMention) -> InvoiceMention:
    return InvoiceMention(mention.text, mention.keys, mention.marked, mention.amount_cents, mention.parts, True)


def one_slip_keys(digits: str) -> list[str]:
    """The digit keys one slip away from `digits` as written: two neighbours swapped, one digit wrong, one
    dropped or one doubled (so the intended number has one more or one less digit). Leading zeros dropped,
    like `digits_key`."""
    found: dict[str, None] = {}
    n = len(digits)
    for i in range(n - 1):
        if digits[i] != digits[i + 1]:
            found[digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]] = None
    for i in range(n):
        found[digits[:i] + digits[i + 1 :]] = None  # a digit written twice or by mistake
        for d in "0123456789":
            if d != digits[i]:
                found[digits[:i] + d + digits[i + 1 :]] = None
    for i in range(n + 1):
        for d in "0123456789":
            found[digits[:i] + d + digits[i:]] = None  # a digit dropped
    # a zero put in front is no slip: keys carry no leading zeros
    keys = dict.fromkeys(key.lstrip("0") or "0" for key in found if key)
    keys.pop(digits.lstrip("0") or "0", None)
    return list(keys)


@dataclass(slots=True, frozen=True)
class ReferenceReading:
    mentions: tuple[InvoiceMention, ...]
    deduction_reason: str | None
    partial: bool


def number_key(text: str) -> str:
    """The canonical key of an invoice number: letters upper-cased, punctuation dropped, leading zeros of
    each digit run dropped (`INV-001042` and `inv 1042` both give `INV1042`)."""
    out: list[str] = []
    previous_digit = False
    for part in _KEY_PARTS.findall(text.upper()):
        if part[0].isdigit():
            if previous_digit:
                out.append("-")
            out.append(part.lstrip("0") or "0")
            previous_digit = True
        else:
            out.append(part)
            previous_digit = False
    return "".join(out)


def digits_key(text: str) -> str:
    """The digits of an invoice number without its letters: `INV-001042` gives `1042`."""
    return "-".join(run.lstrip("0") or "0" for run in _DIGIT_RUNS.findall(text))


def invoice_number_keys(invoice_number: str) -> tuple[str, ...]:
    """Keys an open invoice is indexed under: its full key (`number_key`), and its digits alone
    (`digits_key`, for `#1042`). One pass, as it runs for every open invoice of the ledger."""
    full: list[str] = []
    digits: list[str] = []
    previous_digit = False
    for part in _KEY_PARTS.findall(invoice_number.upper()):
        if part[0].isdigit():
            run = part.lstrip("0") or "0"
            if previous_digit:
                full.append("-")
            full.append(run)
            digits.append(run)
            previous_digit = True
        else:
            full.append(part)
            previous_digit = False
    full_key = "".join(full)
    digit_key = "-".join(digits)
    return (full_key, digit_key) if digit_key and digit_key != full_key else (full_key,)


def parse_text_amount(text: str) -> int | None:
    """Whole cents of an amount written in a memo: `1,250.00`, `1250.00`, `1.250,00` or `1250,00`."""
    if len(text) >= 3 and text[-3] == ",":
        text = text[:-3].replace(".", "") + "." + text[-2:]
    else:
        text = text.replace(",", "")
    units, _, cents = text.partition(".")
    if not units.isdigit() or not cents.isdigit():
        return None
    return int(units) * 100 + int(cents.ljust(2, "0")[:2])


def _segment_around(text: str, start: int) -> str:
    begin = max((m.end() for m in _SEGMENTS.finditer(text, 0, start)), default=0)
    following = _SEGMENTS.search(text, start)
    end = following.start() if following else len(text)
    return " ".join(text[begin:end].split())


def read_reference(text: str) -> ReferenceReading:
    """Every invoice mention in `text`, the deduction reason if the payer gave one, and whether the payer
    said the payment is partial."""
    if not text or not text.strip():
        return ReferenceReading((), None, False)
    lowered = text.lower()
    # the regular expressions only run on memos that contain one of their words at all
    deduction = _DEDUCTION.search(text) if any(hint in lowered for hint in _DEDUCTION_HINTS) else None
    reason = _segment_around(text, deduction.start()) if deduction else None
    partial = any(hint in lowered for hint in _PARTIAL_HINTS) and bool(_PARTIAL.search(text))
    if not _ANY_DIGIT.search(text):
        return ReferenceReading((), reason, partial)
    if _OCR_SLIP.search(text):
        # read the digits meant, but only as a near miss: the engine weighs it like a mistyped number
        corrected = _OCR_SLIP.sub(lambda m: m.group().translate(_OCR_DIGITS), text)
        reading = read_reference(corrected)
        slipped = tuple(_near(m) for m in reading.mentions)
        return ReferenceReading(slipped, reading.deduction_reason, reading.partial)
    if "rf" in lowered:
        creditor, rest = _creditor_references(text)
        if creditor:
            reading = read_reference(rest)
            return ReferenceReading(tuple(_unique([*creditor, *reading.mentions])), reason, partial)
    simple = _ONE_INVOICE.fullmatch(text)
    if simple:
        # the commonest memo by far: one invoice number, perhaps with a marker ("INV-1042", "Inv #1042")
        number = simple.group("number")
        marked = bool(simple.group("marker")) or number[0].isalpha()
        if marked or len(number) >= _MIN_UNMARKED_DIGITS:
            mention = InvoiceMention(number, invoice_number_keys(number), marked, None, _parts(number))
            return ReferenceReading((mention,), reason, partial)
    mentions, scan = _remittance_segments(text)
    if "." in scan:
        # "P.O. 4455" would otherwise read as the words "P" and "O" followed by a bare number.
        scan = _DOTTED_PO.sub("PO ", scan)
    _MentionScan(mentions).read(scan)
    return ReferenceReading(tuple(_unique(mentions)), reason, partial)


def creditor_reference_valid(reference: str) -> bool:
    """Whether `reference` (`RF`, check digits, body; spaces ignored) passes the ISO 11649 check: moved behind
    the body, with letters as numbers (A = 10 ... Z = 35), it leaves 1 modulo 97."""
    compact = reference.replace(" ", "").upper()
    if len(compact) < 5 or not compact.startswith("RF") or not compact.isalnum():
        return False
    return int("".join(str(int(ch, 36)) for ch in compact[4:] + compact[:4])) % 97 == 1


def _creditor_references(text: str) -> tuple[list[InvoiceMention], str]:
    """The bodies of the valid creditor references in `text`, each a marked mention (the creditor issued it
    and the check digits hold, so it is no trace or account number), and the text left once they are taken
    out. The body is the invoice number as the creditor wrote it, letters or digits only (`RF18...000101652`
    names INV-101652 by its digits). A body whose check digits fail is left to the ordinary reading."""
    mentions: list[InvoiceMention] = []
    kept: list[str] = []
    position = 0
    for match in _CREDITOR_REFERENCE.finditer(text):
        groups = match.group(2).split(" ")
        # the print form's last group may have swallowed a word that follows: drop groups until it checks
        while groups:
            body = "".join(groups)
            if len(body) <= _CREDITOR_BODY_MAX and creditor_reference_valid("RF" + match.group(1) + body):
                break
            groups.pop()
        if not groups or (groups[0] == "" and len(groups) == 1):
            continue
        body = "".join(groups).upper()
        end = match.start(2) + len(" ".join(groups))
        mentions.append(InvoiceMention(text[match.start() : end], invoice_number_keys(body), True, None))
        kept.append(text[position : match.start()])
        position = end
    kept.append(text[position:])
    return mentions, " ".join(kept)


def _remittance_segments(text: str) -> tuple[list[InvoiceMention], str]:
    """The invoices of X12 remittance segments (`RMR*IV*INV-1042*PI*1250.00~`), each with its amount, and the
    text left to scan once they are taken out."""
    mentions: list[InvoiceMention] = []
    if "*" not in text:
        return mentions, text
    for match in _RMR.finditer(text):
        number = match.group(1).strip()
        key = number_key(number)
        if key:
            keys = tuple(dict.fromkeys((key, digits_key(number))))
            mentions.append(InvoiceMention(number, keys, True, parse_text_amount(match.group(2))))
    return mentions, (_RMR.sub(" ", text) if mentions else text)


class _MentionScan:
    """The invoice numbers of a memo, token by token, appended to `mentions`. `context` is "invoice" inside a
    list of invoice numbers and "other" after `PO`, `acct`...; `open_for_amount` is the index in `mentions` of
    the mention an amount written next may still attach to (a remittance line)."""

    __slots__ = ("context", "mentions", "open_for_amount")

    def __init__(self, mentions: list[InvoiceMention]) -> None:
        self.mentions = mentions
        self.context: str | None = None
        self.open_for_amount: int | None = None

    def read(self, scan: str) -> None:
        for token in _TOKENS.finditer(scan):
            kind = token.lastgroup
            value = token.group()
            if kind == "word":
                self._word(value.lower())
            elif kind == "sep":
                self._separator(value)
            elif kind == "amount":
                self._amount(value)
            elif kind == "code":
                self._code(value)
            elif kind == "number":
                self._number(value)
            # dates are skipped: a date inside a list of invoices does not end the list

    def _word(self, word: str) -> None:
        if word in _INVOICE_WORDS:
            self.context = "invoice"
            self.open_for_amount = None
        elif word in _LIST_WORDS or word in _AMOUNT_WORDS:
            return
        elif word in _OTHER_NUMBER_WORDS:
            self.context = "other"
            self.open_for_amount = None
        else:
            self.context = None
            self.open_for_amount = None

    def _separator(self, value: str) -> None:
        if value == "#" and self.context != "other":
            self.context = "invoice"
        elif value in "\n;|":
            self.context = None if self.context == "other" else self.context

    def _amount(self, value: str) -> None:
        if self.open_for_amount is not None:
            mention = self.mentions[self.open_for_amount]
            self.mentions[self.open_for_amount] = InvoiceMention(
                mention.text, mention.keys, mention.marked, parse_text_amount(value), mention.parts
            )
        self.open_for_amount = None

    def _code(self, value: str) -> None:
        letters = _LETTERS.match(value)
        prefix = letters.group().lower() if letters else ""
        if prefix in _OTHER_PREFIXES:
            self.context = "other"
            self.open_for_amount = None
            return
        digits = value[len(prefix) :].lstrip("-_/.#:")
        if len(digits) > _MAX_DIGITS and _longest_run(digits) > _MAX_DIGITS:
            return
        invoice_prefix = prefix in _INVOICE_PREFIXES or prefix in _INVOICE_WORDS
        marked = invoice_prefix or self.context == "invoice"
        if invoice_prefix:
            self.context = "invoice"
        self.mentions.append(InvoiceMention(value, invoice_number_keys(value), marked, None, _parts(digits)))
        self.open_for_amount = len(self.mentions) - 1

    def _number(self, value: str) -> None:
        if self.context == "other":
            return
        longest = _longest_run(value) if "-" in value or "/" in value else len(value)
        marked = self.context == "invoice"
        if longest > _MAX_DIGITS or (not marked and longest < _MIN_UNMARKED_DIGITS):
            self.open_for_amount = None
            return
        self.mentions.append(InvoiceMention(value, invoice_number_keys(value), marked, None, _parts(value)))
        self.open_for_amount = len(self.mentions) - 1


def _longest_run(text: str) -> int:
    return max((len(run) for run in _DIGIT_RUNS.findall(text)), default=0)


def _parts(digits: str) -> tuple[str, ...]:
    """`1042/1043` or `1042-1043` glued into one token: each number, for when the whole is no invoice."""
    if "-" not in digits and "/" not in digits:
        return ()
    runs = digits_key(digits).split("-")
    if len(runs) < 2:
        return ()
    return tuple(run for run in runs if len(run) >= _MIN_UNMARKED_DIGITS)


def _unique(mentions: list[InvoiceMention]) -> list[InvoiceMention]:
    seen: dict[tuple[str, ...], int] = {}
    out: list[InvoiceMention] = []
    for mention in mentions:
        if mention.keys in seen:
            kept = out[seen[mention.keys]]
            if (kept.amount_cents is None and mention.amount_cents is not None) or (mention.marked and not kept.marked):
                out[seen[mention.keys]] = InvoiceMention(
                    kept.text,
                    kept.keys,
                    kept.marked or mention.marked,
                    kept.amount_cents if kept.amount_cents is not None else mention.amount_cents,
                    kept.parts,
                )
            continue
        seen[mention.keys] = len(out)
        out.append(mention)
    return out
