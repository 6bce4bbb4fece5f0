"""Reading a customer's reply to a reminder: what kind it is, the date it names, and how sure the rules are.

`classify(reply, today)` is a pure, deterministic function: `today` is the day the reply arrived (the day
its "tomorrow" and "Friday" count from). The steps:
1. the body as plain text (`plain_text.readable`), the customer's own words only (`quoting.fresh_text`),
   folded; the subject read for auto-reply, bounce and "STOP" cues, and for everything else only when the
   customer wrote it (no "Re:"/"AW:"/"Fwd:" prefix: a replied subject is our reminder's own words);
2. every cue of every language (`phrases/`) found, a negated one dropped ("we have not paid", "not
   disputing"; a negation reaches at most three words back within its clause, and German/Dutch "nicht"/
   "niet" one or two words forward);
3. the kind decided (`decide`): each kind's support is its strongest cue (STRONG 0.9, MEDIUM 0.75, WEAK
   0.55), plus 0.05 per further cue (at most 0.1), plus a precedence bonus of 0.015 per rank, so equally
   supported kinds follow the precedence
       bounce > out_of_office > unsubscribe > dispute > paid > promise > plan_request > wrong_contact
       > copy_request > question > other
   while a strong cue still beats a weak one of a higher kind. Mixed replies:
   - a promise made on a condition the creditor must meet ("we will pay once you fix the wrong amount",
     "send us a copy and we'll pay") is weak, so the condition's own kind wins (dispute, copy_request);
   - a part payment with a promise for the rest ("we paid half and will pay the rest on Friday") is a
     promise, dated for the rest;
   - a delivery delay notice is not a bounce (it is `other`) unless it carries a permanent failure code;
4. the date (`dated`): for paid the day paid (on or before received), for promise the day promised (on or
   after), for out_of_office the first day back; taken from the date nearest the deciding phrase in its
   sentence (dates introduced as the invoice's own, "dated ..."/"due ...", are skipped). Out of office:
   "back on X" -> X; "until X" -> X; "through X"/"bis einschließlich X" or a range "from A to B" -> the next
   working day after it;
5. the confidence: the winning support, +0.05 with a placed date; -0.25 for a promise without a date the
   rules can place (it cannot become a promise to pay without one, so a person should read it); -0.2 for a
   payment or a return date the reply names but the rules cannot place; -0.05/-0.1 for paid/out-of-office
   that name no date; -0.1 when another kind is nearly as well supported; capped at 0.97. Nothing
   recognisable is `other` at 0.3 (0.2 when empty).

Below `REVIEW_THRESHOLD` the product asks a human. `classify_with_second_opinion` is where a language model
(behind the drafter port) may be consulted for such replies; its answer is fact-checked against the text
before it can replace the rules' (`fact_checked`). Nothing here calls one.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import islice
from typing import Protocol

from activities.replies.dates import DateMention, Direction, find_dates, is_reference, numeric_order, resolve
from activities.replies.model import DATED_KINDS, PRECEDENCE, Classification, Kind, Reply
from activities.replies.phrases import BODY_CUES, LANGUAGES, MEDIUM, STRONG, SUBJECT_CUES, WEAK, Cue, Language
from activities.replies.plain_text import fold, readable
from activities.replies.quoting import fresh_text

REVIEW_THRESHOLD = 0.7
MAX_CLASSIFIED_CHARS = 6_000  # of the customer's own words: a reply's point is made well before this
MAX_HITS_PER_CUE = 12  # the same phrase said more often than this adds nothing

_RANK = {kind: len(PRECEDENCE) - 1 - index for index, kind in enumerate(PRECEDENCE)}
_PRECEDENCE_STEP = 0.015
_SUBJECT_PREFIX = re.compile(r"^(?:(?:re|aw|wg|fw|fwd|tr|rv|sv|vs|ref|antw|r|rif|enc|res|doorst|odp|vb)\s*"
                             r"(?:\[\d+\]|\(\d+\))?\s*:\s*)+")


def _alternation(words: Sequence[str]) -> str:
    """Words (not patterns) as one regex alternation, the longest first."""
    return "|".join(re.escape(w).replace(r"\ ", " ") for w in sorted(set(words), key=len, reverse=True))


def _negation(language: Language) -> re.Pattern[str]:
    """The negations of `language` and of English (which replies mix in everywhere); only these, because one
    language's negation is another's noun (Italian "mai", never, is French and German "mai", May)."""
    words = {n for n in (*language.negations, *LANGUAGES[0].negations) if n not in ("n't", "no", "n'")}
    return re.compile(r"(?:n't\b|\bno\b(?! (?:problem|problems|worries|worry|issue|issues|doubt|need|rush|"
                      r"pressure|idea)\b)|\b(?:" + _alternation(sorted(words)) + r")\b|\bn')")


def _hypothetical(language: Language) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + _alternation([*language.hypothetical, *LANGUAGES[0].hypothetical]) + r")\b")


_NEGATIONS = {lang.code: _negation(lang) for lang in LANGUAGES}
_HYPOTHETICALS = {lang.code: _hypothetical(lang) for lang in LANGUAGES}
_POST_NEGATION = re.compile(r"^(?: [\w'-]+)?? (?:" + _alternation(
    [n for lang in LANGUAGES for n in lang.post_negations]) + r")\b")
_CLAUSE_BREAK = re.compile(r"[.!?;:,\n()]|\b(?:" + _alternation(
    [w for lang in LANGUAGES for w in lang.clause_breaks]) + r")\b")
_CONDITION = re.compile("|".join(c for lang in LANGUAGES for c in lang.conditions))
_REMAINDER = re.compile("|".join(r for lang in LANGUAGES for r in lang.remainder))
# A dot after a digit ends no sentence: it is a date ("am 3. März", "ab dem 16.03. wieder") or an amount.
_SENTENCE_END = re.compile(r"(?:(?<!\d)\.|[!?;])[.!?;]*(?=\s|$)|\n")
# A question about paying ("could we set up a payment plan?", "¿podemos pagar en cuotas?") is no promise.
_ASKING = re.compile(r"\b(?:(?:can|could|may|might|shall) (?:we|i)|(?:is|would) it (?:be )?possible|is there any "
                     r"way|any chance|would you (?:allow|accept|agree)|(?:is|would) it be ok|(?:ko(?:e)?nnen|"
                     r"ko(?:e)?nnten|du(?:e)?rfen) wir|pourrions-nous|pouvons-nous|serait-il possible|est-il possible|"
                     r"podemos|podriamos|seria posible|kunnen we|kunnen wij|mogen we|is het mogelijk|possiamo|"
                     r"potremmo|sarebbe possibile|poderiamos|seria possivel|e possivel)\b")
_PERMANENT_FAILURE = re.compile(r"(?<![\w.])5\.[0-7]\.[0-9]{1,3}(?![\w.])|\bpermanent\b|\b55[0-4]\b")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
# Mail from the mail system itself is a delivery report whatever its subject says.
_MAIL_SYSTEM = Cue("bounce", STRONG, re.compile(r"^(?:\W*(?:mailer-daemon|mail-daemon|postmaster|mail delivery "
                                                 r"(?:subsystem|system))\b)"), "en")
_REFERENCE_WORDS = tuple(w for lang in LANGUAGES for w in lang.reference_words)
_RETURN = re.compile(r"\b(?:" + _alternation([w for lang in LANGUAGES for w in lang.return_words]) + r")\b")
_UNTIL = re.compile(r"\b(?:" + _alternation([w for lang in LANGUAGES for w in lang.until_words])
                    + r")(?: (?:the|zum|dem|el|le|al|o|dia|de))?\s*$")
_THROUGH = re.compile(r"\b(?:" + _alternation([w for lang in LANGUAGES for w in lang.through_words]) + r")\b")
_RANGE = re.compile(r"(?:\b(?:" + _alternation([w for lang in LANGUAGES for w in lang.range_words if w != "-"])
                    + r")|-)(?: (?:the|zum|dem|el|le|al|o|dia|de))?\s*$")
_SPECIFICITY = {"calendar": 0, "numeric": 0, "month_part": 1, "day_of_month": 1, "weekday": 2, "offset": 3,
                "period": 4}


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found in the reply: where, and how strongly it speaks for its kind."""

    cue: Cue
    strength: float
    start: int
    end: int
    text: str
    in_subject: bool = False

    @property
    def kind(self) -> Kind:
        return self.cue.kind


@dataclass(frozen=True, slots=True)
class Reading:
    """A reply made ready for the rules: the customer's words (folded, lines joined into sentences), the
    subject, and the language most of its words are in."""

    text: str
    subject: str
    customer_subject: bool
    language: str
    sender: str = ""


class SecondOpinion(Protocol):
    """Something that can classify a reply the rules were unsure of (the LLM behind the drafter port)."""

    def __call__(self, reply: Reply, today: date, rules: Classification) -> Classification | None: ...


def classify(reply: Reply, today: date) -> Classification:
    reading = read(reply)
    hits = find_hits(reading)
    kind, hit, supports = decide(hits, reading.text)
    if hit is None:
        confidence = 0.2 if not reading.text and not reading.subject else 0.3
        return Classification(kind="other", confidence=confidence)
    when, named_unplaced = dated(kind, hit, reading, today)
    said_in = reading.subject if hit.in_subject else reading.text
    asked = said_in[_sentence_bounds(said_in, hit.start)[1]:][:1] == "?"
    confidence = _confidence(kind, supports, when, named_unplaced, asked=asked)
    return Classification(kind=kind, date=when, confidence=confidence, evidence=hit.text)


def classify_with_second_opinion(reply: Reply, today: date, second_opinion: SecondOpinion | None = None, *,
                                 threshold: float = REVIEW_THRESHOLD) -> Classification:
    """The rules' answer; when it is below `threshold` and a second opinion is configured, that opinion
    instead if it survives `fact_checked` and is surer."""
    rules = classify(reply, today)
    if second_opinion is None or rules.confidence >= threshold:
        return rules
    opinion = second_opinion(reply, today, rules)
    checked = fact_checked(opinion, reply, today) if opinion is not None else None
    if checked is None or checked.confidence <= rules.confidence:
        return rules
    return checked


def fact_checked(opinion: Classification, reply: Reply, today: date) -> Classification | None:
    """The opinion if every fact it states is in the reply: a date only for a dated kind, and only a date the
    reply's own words name, on the right side of the day received. None when it claims anything else."""
    if opinion.date is None:
        return opinion.model_copy(update={"classifier": "second_opinion"})
    if opinion.kind not in DATED_KINDS:
        return None
    direction: Direction = "past" if opinion.kind == "paid" else "future"
    reading = read(reply)
    mentions = find_dates(reading.text, reading.language) + find_dates(reading.subject, reading.language)
    order = numeric_order(mentions)
    named = {resolve(m, today, direction, order=o, language=reading.language)
             for m in mentions for o in (order, "DMY", "MDY")}
    if opinion.date not in named:
        return None
    return opinion.model_copy(update={"classifier": "second_opinion"})


def read(reply: Reply) -> Reading:
    text = _sentences(fold(fresh_text(readable(reply.body))))[:MAX_CLASSIFIED_CHARS]
    subject = fold(readable(reply.subject).replace("\n", " "))[:500]
    bare_subject = _SUBJECT_PREFIX.sub("", subject)
    return Reading(text=text, subject=subject, customer_subject=bare_subject == subject,
                   language=language_of(f"{text} {subject}"), sender=fold(reply.sender)[:200])


def _sentences(text: str) -> str:
    """Hard-wrapped lines joined into their sentences; a short line without closing punctuation (a greeting,
    a list item, "Invoice 1042") ends its own sentence; blank lines stay paragraph breaks."""
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        joined = ""
        for line in (part.strip() for part in paragraph.split("\n")):
            if not line:
                continue
            if joined and not joined.endswith((".", "!", "?", ":", ";", ",")):
                joined += ". " if len(joined.rsplit(". ", 1)[-1]) < 45 else " "
            elif joined:
                joined += " "
            joined += line
        if joined:
            paragraphs.append(joined)
    return "\n".join(paragraphs)


def language_of(text: str) -> str:
    """The language whose common words the text uses most (English when none stands out)."""
    words = re.findall(r"[a-z']+", text)
    counts = {lang.code: sum(1 for word in words if word in lang.stopwords) for lang in LANGUAGES}
    best = max(counts, key=lambda code: (counts[code], code == "en"))
    return best if counts[best] > counts["en"] else "en"


def find_hits(reading: Reading) -> list[Hit]:
    hits: list[Hit] = []
    texts = [(reading.text, False)]
    if reading.customer_subject and reading.subject:
        texts.append((reading.subject, True))
    for cue in BODY_CUES:
        for text, in_subject in texts:
            for match in islice(cue.pattern.finditer(text), MAX_HITS_PER_CUE):
                if not _spoken_against(cue, text, match.start(), match.end(), reading.language):
                    hits.append(Hit(cue, cue.strength, match.start(), match.end(), match.group(0), in_subject))
    bare_subject = _SUBJECT_PREFIX.sub("", reading.subject)
    for cue in SUBJECT_CUES:
        found = cue.pattern.search(reading.subject) or cue.pattern.search(bare_subject)
        if found:
            hits.append(Hit(cue, cue.strength, found.start(), found.end(), found.group(0), in_subject=True))
    found = _MAIL_SYSTEM.pattern.search(reading.sender)
    if found:
        hits.append(Hit(_MAIL_SYSTEM, STRONG, 0, 0, found.group(0), in_subject=True))
    return _weigh_conditions(hits, reading.text, reading.language)


def _spoken_against(cue: Cue, text: str, start: int, end: int, language: str) -> bool:
    """Whether the words around a cue take it back: a negation ("we have not paid"), or, for a payment made,
    a hypothetical ("until the balance is cleared", "not sure whether it was paid")."""
    if not cue.negatable:
        return False
    before = text[max(0, start - 60):start]
    clause = _CLAUSE_BREAK.split(before)[-1] if before else ""
    window = " ".join(clause.split()[-3:])
    negation = _NEGATIONS.get(language, _NEGATIONS["en"])
    if negation.search(window) or negation.search(text[start:end]):
        return True
    if cue.kind == "paid" and _HYPOTHETICALS.get(language, _HYPOTHETICALS["en"]).search(window):
        return True
    after = _CLAUSE_BREAK.split(text[end:end + 30])[0]
    return bool(_POST_NEGATION.match(after))


def _weigh_conditions(hits: list[Hit], text: str, language: str) -> list[Hit]:
    """A promise made on a condition the creditor must meet, or in the same sentence as a request for a copy
    or a complaint and without a date of its own, is a weak promise: the condition is the message."""
    requests = [h for h in hits if h.kind in ("dispute", "copy_request") and not h.in_subject]
    weighed = []
    for hit in hits:
        if hit.kind == "promise" and not hit.in_subject:
            sentence = _sentence_bounds(text, hit.start)
            words = text[sentence[0]:sentence[1]]
            same_sentence_request = any(sentence[0] <= r.start < sentence[1] for r in requests)
            asking = text[sentence[1]:sentence[1] + 1] == "?" and bool(_ASKING.search(words))
            dated_sentence = any(sentence[0] <= m.start < sentence[1] for m in _dates(text, language))
            if _CONDITION.search(words) or asking or (same_sentence_request and not dated_sentence):
                hit = Hit(hit.cue, WEAK, hit.start, hit.end, hit.text)
        weighed.append(hit)
    return weighed


@lru_cache(maxsize=16)
def _sentence_marks(text: str) -> tuple[list[int], list[int]]:
    marks = list(_SENTENCE_END.finditer(text))
    return [m.start() for m in marks], [m.end() for m in marks]


def _sentence_bounds(text: str, position: int) -> tuple[int, int]:
    """Where the sentence holding `position` starts and ends."""
    starts, ends = _sentence_marks(text)
    before = bisect_right(ends, position)
    after = bisect_left(starts, position)
    return (ends[before - 1] if before else 0), (starts[after] if after < len(starts) else len(text))


@lru_cache(maxsize=16)
def _dates(text: str, language: str) -> tuple[DateMention, ...]:
    return tuple(find_dates(text, language))


def decide(hits: Sequence[Hit], text: str) -> tuple[Kind, Hit | None, dict[Kind, float]]:
    """The kind the hits support best (see the module docstring), the hit that decides it, and every kind's
    support (for the confidence)."""
    hits = _settle_mixed(list(hits), text)
    supports: dict[Kind, float] = {}
    best_hit: dict[Kind, Hit] = {}
    for kind in PRECEDENCE:
        own = [h for h in hits if h.kind == kind]
        if not own:
            continue
        strongest = max(own, key=lambda h: (h.strength, not h.in_subject, -h.start))
        distinct = _separate_spans(own)
        supports[kind] = strongest.strength + min(0.1, 0.05 * (distinct - 1))
        best_hit[kind] = strongest
    if not supports:
        return "other", None, {}
    kind = max(supports, key=lambda k: supports[k] + _PRECEDENCE_STEP * _RANK[k])
    return kind, best_hit[kind], supports


def _separate_spans(hits: list[Hit]) -> int:
    """How many places in the reply speak for a kind (two cues on the same words are one place)."""
    spans: list[tuple[bool, int, int]] = []
    for hit in sorted(hits, key=lambda h: (h.in_subject, h.start)):
        if spans and spans[-1][0] == hit.in_subject and hit.start < spans[-1][2]:
            continue
        spans.append((hit.in_subject, hit.start, hit.end))
    return len(spans)


def _settle_mixed(hits: list[Hit], text: str) -> list[Hit]:
    kinds = {h.kind for h in hits}
    delay = any(h.cue.role == "delay" for h in hits)
    if delay and not any(h.kind == "bounce" and h.in_subject and h.cue is not _MAIL_SYSTEM for h in hits):
        # A delay report (from the mail system, like a bounce) is a bounce only with a permanent failure in it.
        hits = [h for h in hits
                if h.kind != "bounce" or (h.cue is not _MAIL_SYSTEM and _PERMANENT_FAILURE.search(h.text))]
    if "paid" in kinds and "promise" in kinds:
        partial = any(h.cue.role == "partial" for h in hits)
        for_the_rest = any(h.kind == "promise" and h.strength > WEAK and _REMAINDER.search(
            text[slice(*_sentence_bounds(text, h.start))]) for h in hits if not h.in_subject)
        if partial or for_the_rest:
            hits = [h for h in hits if h.kind != "paid"]
    if "wrong_contact" in kinds and any(h.cue.role == "forwarded" for h in hits) and _EMAIL.search(text):
        hits = [Hit(h.cue, MEDIUM, h.start, h.end, h.text, h.in_subject) if h.cue.role == "forwarded" else h
                for h in hits]
    return hits


def dated(kind: Kind, hit: Hit, reading: Reading, today: date) -> tuple[date | None, bool]:
    """The date the reply gives for `kind`, and whether it named one the rules could not place."""
    if kind not in DATED_KINDS:
        return None, False
    if kind == "out_of_office":
        return _return_date(reading, today)
    direction: Direction = "past" if kind == "paid" else "future"
    text = reading.subject if hit.in_subject else reading.text
    mentions = [m for m in _dates(text, reading.language) if not is_reference(text, m, _REFERENCE_WORDS)]
    order = numeric_order(_dates(reading.text, reading.language))
    candidates = _nearest(mentions, text, hit)
    for mention in candidates:
        when = resolve(mention, today, direction, order=order, language=reading.language)
        if when is not None:
            return when, False
    # "soon", "as soon as possible", "last week" name no day: that is a reply without a date, not a date the
    # rules failed to place.
    return None, any(not (m.form == "period" and m.anchor == "vague") for m in candidates)


def _nearest(mentions: list[DateMention], text: str, hit: Hit) -> list[DateMention]:
    """The dates that can belong to the phrase: those in its sentence (after it first, nearest first), then
    the nearest one within 120 characters."""
    start, end = _sentence_bounds(text, hit.start)
    same = [m for m in mentions if start <= m.start < end]
    after = sorted((m for m in same if m.start >= hit.start), key=lambda m: m.start)
    before = sorted((m for m in same if m.start < hit.start), key=lambda m: -m.start)
    near = sorted((m for m in mentions if m not in same and min(abs(m.start - hit.end), abs(hit.start - m.end)) < 120),
                  key=lambda m: min(abs(m.start - hit.end), abs(hit.start - m.end)))
    return after + before + near[:1]


def _return_date(reading: Reading, today: date) -> tuple[date | None, bool]:
    """The first day back an out-of-office reply gives: "back on X" -> X; "until X" -> X; "through X" or the
    end of a range "from A to B" -> the next working day after it."""
    named = False
    for text in (reading.text, _SUBJECT_PREFIX.sub("", reading.subject)):
        mentions = list(_dates(text, reading.language))
        order = numeric_order(mentions)
        named = named or bool(mentions)
        ranked: list[tuple[int, int, date]] = []
        for index, mention in enumerate(mentions):
            when = resolve(mention, today, "future", order=order, language=reading.language)
            if when is None:
                continue
            lead = _lead_start(mentions, index)
            before = text[max(0, lead - 60):lead]
            sentence_start = _sentence_bounds(text, lead)[0]
            before_in_sentence = text[max(sentence_start, lead - 60):lead]
            following = mentions[index + 1].start if index + 1 < len(mentions) else len(text)
            after = text[mention.end:min(_sentence_bounds(text, mention.start)[1], following, mention.end + 30)]
            specificity = _SPECIFICITY[mention.form]
            if _RETURN.search(before_in_sentence):
                ranked.append((0, specificity, when))
            elif _RETURN.search(after) and not _UNTIL.search(before):  # "ab dem 16.03. wieder erreichbar"
                ranked.append((1, specificity, when))
            elif _UNTIL.search(before):
                through = _THROUGH.search(before[-30:]) or _THROUGH.search(after)
                ranked.append((2, specificity, _next_working_day(when) if through else when))
            elif index > 0 and _RANGE.search(before) and mentions[index - 1].end >= sentence_start:
                ranked.append((3, specificity, _next_working_day(when)))
        if ranked:
            return min(ranked)[2], False
    return None, named


def _lead_start(mentions: list[DateMention], index: int) -> int:
    """Where the date at `index` begins, counting a weekday written just before it ("Monday, 9 March")."""
    start = mentions[index].start
    if index > 0:
        previous = mentions[index - 1]
        if previous.form == "weekday" and 0 <= start - previous.end <= 2:
            return previous.start
    return start


def _next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _confidence(kind: Kind, supports: dict[Kind, float], when: date | None, named_unplaced: bool, *,
                asked: bool) -> float:
    confidence = supports[kind]
    if kind in DATED_KINDS:
        if when is not None:
            confidence += 0.05
        elif kind == "promise":
            confidence -= 0.25  # nothing to hold the customer to: a person should settle the date
        elif named_unplaced:
            confidence -= 0.2
        else:
            confidence -= {"paid": 0.05, "out_of_office": 0.1}[kind]
    # A bare question mark beside a clear answer is no rival, nor is the question form of a request ("could
    # you resend the invoice?"); a question beside the answer is.
    rivals = [s for k, s in supports.items() if k != kind and (k not in ("other", "question") or
                                                                 (k == "question" and s > WEAK and not asked))]
    if rivals and max(rivals) >= supports[kind] - 0.1:
        confidence -= 0.1
    return round(min(0.97, max(0.05, confidence)), 2)
