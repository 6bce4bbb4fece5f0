"""The customer's own words in a reply: quoted history, forwarded headers, signatures and legal
disclaimers taken away.

The reminder a customer answers is usually quoted below the answer, and it is full of "payment", "due",
"overdue" and dates: left in, it would classify every reply as the reminder itself. What is removed:
- lines quoted with ">" (interleaved answers between them are kept);
- from an "On <date>, <name> wrote:" line (and its translations: "Le ... a écrit :", "Am ... schrieb ...:",
  "El ... escribió:", "Op ... schreef ...:", "Il ... ha scritto:", "Em ... escreveu:"), wrapped over two
  lines or not, to the end, unless only ">"-quoted lines follow (then it only introduces a quote);
- from an Outlook header block ("From:" followed by "Sent:"/"To:"/"Subject:" and their translations, or
  all on one line), an "-----Original Message-----" or forwarded-message line, or Outlook's underscore
  rule, to the end;
- from a signature: the "-- " delimiter, "Sent from my iPhone" and its translations, a closing such as
  "Kind regards" / "Mit freundlichen Grüßen" / "Cordialement" on a line of its own (names may follow);
- from the first line of a legal disclaimer to the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from activities.replies.phrases import LANGUAGES
from activities.replies.plain_text import fold

MAX_LINES = 600  # the answer is at the top; a reply longer than this is read that far


def _alternation(parts: Iterable[str]) -> str:
    return "|".join(sorted(set(parts), key=len, reverse=True))


_OPENERS = r"(?:on|le|am|el|op|il giorno|il|em|den|pa|w dniu|dne)"
_WROTE = _alternation(w for lang in LANGUAGES for w in lang.wrote)
_WROTE_LINE = re.compile(rf"^(?:{_OPENERS}\b.{{0,300}}\b(?:{_WROTE})\b.{{0,300}}|.{{0,300}}\b(?:{_WROTE}))\s*:\s*$")
_OPENER_START = re.compile(rf"^{_OPENERS}\b")
_FROM = _alternation(f for lang in LANGUAGES for f in lang.header_from)
_FIELDS = _alternation(f for lang in LANGUAGES for f in lang.header_fields)
_HEADER_FROM = re.compile(rf"^\*?(?:{_FROM})\s*\*?\s*:\s*\S")
_HEADER_FIELD = re.compile(rf"^\*?(?:{_FIELDS})\s*\*?\s*:")
_ONE_LINE_HEADER = re.compile(rf"^\*?(?:{_FROM})\s*:.{{1,200}}\b(?:{_FIELDS})\s*:")
_SEPARATOR = re.compile(rf"^[-_=*\s]*(?:{_alternation(s for lang in LANGUAGES for s in lang.separators)})[-_=*\s:]*$"
                        rf"|^_{{8,}}\s*$|^-{{8,}}\s*$|^={{8,}}\s*$")
_MOBILE = re.compile(rf"^(?:{_alternation(s for lang in LANGUAGES for s in lang.mobile_signatures)})\b")
_SIGN_OFF = re.compile(rf"^(?:{_alternation(s for lang in LANGUAGES for s in lang.sign_offs)})\s*[,.!:-]*"
                       rf"(?:\s+[\w.'-]+){{0,3}}\s*[,.!]*$")
_DISCLAIMER = re.compile(rf"^\W*(?:{_alternation(s for lang in LANGUAGES for s in lang.disclaimers)})")


def fresh_text(text: str) -> str:
    """The lines of `text` the sender wrote now, joined by newlines."""
    lines = text.split("\n")[:MAX_LINES]
    folded = [fold(line) for line in lines]
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line, low = lines[index].strip(), folded[index]
        if line.startswith(">"):
            index += 1
            continue
        header_lines = _wrote_header(folded, index)
        if header_lines:
            if _only_quotes_follow(lines, index + header_lines):
                index += header_lines
                continue
            break
        if _ends_answer(lines, folded, index, has_content=any(k.strip() for k in kept)):
            break
        kept.append(line if low else "")
        index += 1
    return "\n".join(kept).strip()


def _wrote_header(folded: list[str], index: int) -> int:
    """How many lines the "On ..., X wrote:" header starting here spans (0: none)."""
    low = folded[index]
    if low and len(low) < 400 and _WROTE_LINE.match(low):
        return 1
    if _OPENER_START.match(low) and index + 1 < len(folded):
        joined = f"{low} {folded[index + 1]}"
        if len(joined) < 500 and _WROTE_LINE.match(joined):
            return 2
    return 0


def _only_quotes_follow(lines: list[str], start: int) -> bool:
    following = [line.strip() for line in lines[start:start + 12] if line.strip()]
    return bool(following) and following[0].startswith(">")


def _ends_answer(lines: list[str], folded: list[str], index: int, *, has_content: bool) -> bool:
    raw, low = lines[index], folded[index]
    if raw.rstrip("\n") in ("-- ", "--", "—", "-- \r") or raw.strip() == "--":
        return True
    if _SEPARATOR.match(low) or _MOBILE.match(low) or _DISCLAIMER.match(low) or _ONE_LINE_HEADER.match(low):
        return True
    if _HEADER_FROM.match(low):
        following = [f for f in folded[index + 1:index + 6] if f]
        if any(_HEADER_FIELD.match(f) for f in following[:4]):
            return True
    # A closing ends the answer only after something was said: "Regards" as the only line is no answer.
    return has_content and bool(_SIGN_OFF.match(low))
