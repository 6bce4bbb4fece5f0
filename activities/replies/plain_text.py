"""A reply's body as plain text the rules can read: HTML flattened, entities decoded, broken characters
replaced, the size bounded; and the folded form every phrase and date pattern is written against.

Folding lower-cases, removes accents (so "überwiesen", "uberwiesen" and "UEBERWIESEN"-less spellings meet the
same pattern), unifies apostrophes, quotes and dashes, and writes "No. 1234" / "Nr. 1234" as "# 1234" so an
invoice number is never read as a negation.
"""

from __future__ import annotations

import html
import re
import unicodedata

# A reply that matters says so near the top; everything past these bounds is quoted history or noise, and
# bounding it keeps the work per reply small whatever arrives (a 20 MB HTML newsletter, a base64 blob).
MAX_BODY_CHARS = 200_000
MAX_TEXT_CHARS = 20_000

_HTML_HINT = re.compile(r"<(?:html|body|div|p|br|table|span|blockquote|font|meta|head|a|b|i|td)\b[^>]*>", re.I)
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "table", "h1", "h2", "h3", "h4", "h5", "h6", "section",
     "article", "header", "footer", "pre", "address", "dd", "dt", "center"}
)
_SKIPPED_TAGS = frozenset({"style", "script", "head", "title", "xml", "template", "noscript"})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ODD_SPACES = re.compile("[\u00a0\u2000-\u200a\u202f\u205f\u3000]")
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201b": "'", "`": "'", "\u00b4": "'", "\u02bc": "'",
                              "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u00ab": '"', "\u00bb": '"',
                              "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
                              "\u2212": "-", "\u00bf": " ", "\u00a1": " "})
_SYMBOLS = frozenset({"So", "Sk", "Cs", "Co", "Cn", "Cf"})  # symbols, emoji, broken and invisible characters
_NUMBER_MARK = re.compile(r"(?<![\w#])(?:no|nr|num|n°|nº|n\.o)\s?\.?\s?(?=#?\d)", re.I)


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)(?:\s[^<>]{0,4000})?/?>|<!--|<![^<>]{0,4000}>|<\?[^<>]{0,4000}>")


def looks_like_html(text: str) -> bool:
    return bool(_HTML_HINT.search(text[:20_000]))


def html_to_text(markup: str) -> str:
    """Text of an HTML body, one line per block. Lines inside a <blockquote> come out prefixed with "> " (that
    is what a quoted reply is, and the quote stripper reads it like plain-text quoting); an <hr> becomes the
    rule Outlook draws above the message it quotes; <style>, <script> and <head> say nothing. A linear scan
    rather than `html.parser`, whose cost grows with the square of an unclosed tag's length."""
    lines: list[str] = []
    line: list[str] = []
    quoted = False
    quote_depth = skip_depth = 0

    def flush() -> None:
        nonlocal line, quoted
        text = html.unescape("".join(line)).strip()
        if text:
            lines.append(("> " if quoted else "") + text)
        line, quoted = [], False

    position = 0
    for match in _TAG.finditer(markup):
        if match.start() < position:
            continue
        data = markup[position:match.start()]
        if not skip_depth:
            quoted = quoted or (quote_depth > 0 and bool(data.strip()))
            line.append(data.replace("\n", " "))
        position = match.end()
        if match.group(0) == "<!--":
            close = markup.find("-->", position)
            position = len(markup) if close < 0 else close + 3
            continue
        closing, tag = match.group(1) == "/", (match.group(2) or "").lower()
        if tag in _SKIPPED_TAGS:
            skip_depth = max(0, skip_depth - 1) if closing else skip_depth + 1
        elif tag == "blockquote":
            flush()
            quote_depth = max(0, quote_depth - 1) if closing else quote_depth + 1
        elif tag == "hr":
            flush()
            lines.append("_" * 32)
        elif tag in ("td", "th"):
            line.append(" ")
        elif tag in _BLOCK_TAGS:
            flush()
    if position < len(markup) and not skip_depth:
        line.append(markup[position:].replace("\n", " "))
    flush()
    return "\n".join(lines)


def readable(text: str) -> str:
    """The body as clean plain text: valid Unicode (lone surrogates from a broken decoder become U+FFFD),
    HTML flattened, entities decoded, line ends unified, invisible characters gone, bounded in size."""
    text = _SURROGATE.sub("\ufffd", text[:MAX_BODY_CHARS])
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if looks_like_html(text):
        text = html_to_text(text)
    elif "&" in text:
        text = html.unescape(text)
    text = _ODD_SPACES.sub(" ", unicodedata.normalize("NFC", _INVISIBLE.sub("", text)))
    return text[:MAX_TEXT_CHARS]


def fold(text: str) -> str:
    """Lower case, no accents, one kind of apostrophe/quote/dash, symbols and emoji as spaces ("Paid ✅ on
    3/3" reads "paid on 3/3"), single spaces; newlines are kept."""
    decomposed = unicodedata.normalize("NFKD", _NUMBER_MARK.sub("#", text.translate(_APOSTROPHES)))
    bare = "".join(" " if unicodedata.category(ch) in _SYMBOLS else ch for ch in decomposed
                   if not unicodedata.combining(ch))
    bare = bare.casefold().replace("ø", "o").replace("æ", "ae").replace("œ", "oe").replace("ł", "l")
    return "\n".join(_SPACES.sub(" ", line).strip() for line in bare.split("\n"))
