"""Payer names against customer names.

Banks hand over the payer's name the way their systems keep it: upper-cased, accents and punctuation gone,
cut at 18-35 characters, behind prefixes such as `ACH CREDIT` or `ORIG CO NAME:`, with the legal form
abbreviated, spelt out or missing. `normalise_name` removes what does not identify the company;
`name_similarity` scores two normalised names in 0..1 with rapidfuzz, crediting a payer name that is a
cut-off beginning of the customer's name; `CustomerNameIndex` finds the few customers worth scoring for a
payer through an index of name tokens, so a payer is never compared with every customer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

LEGAL_SUFFIXES = frozenset(
    "inc incorporated llc llp lp ltd limited gmbh mbh corp corporation co company companies plc pty sa bv ag nv "
    "srl sarl sas spa oy oyj ab as asa aps kg kgaa ohg ug ek ev gbr se pc pllc lda sl sro kft zrt bhd sdn pte "
    "pvt cv de sau sae kk nl".split()
)
# What banks put in front of the payer's name.
BANK_PREFIXES = frozenset(
    "ach credit cr debit wire wires transfer trf tfr xfer incoming inward in from payment pmt pymt pay dep "
    "deposit sepa ct sct bacs fps chaps giro remitter rem orig originator co name ordering ord cust customer "
    "by fedwire fed swift rtp zelle check chk cheque mobile online bill ref ben beneficiary sender recd rcvd "
    "received".split()
)
_STOPWORDS = frozenset("and the of und et y".split())
_ABBREVIATIONS = {
    "intl": "international",
    "int": "international",
    "mfg": "manufacturing",
    "mfr": "manufacturing",
    "svc": "services",
    "svcs": "services",
    "srvcs": "services",
    "servs": "services",
    "assoc": "associates",
    "assocs": "associates",
    "bros": "brothers",
    "natl": "national",
    "mgmt": "management",
    "grp": "group",
    "hldgs": "holdings",
    "hldg": "holdings",
    "hlds": "holdings",
    "ind": "industries",
    "inds": "industries",
    "sys": "systems",
    "dist": "distribution",
    "distr": "distribution",
    "ent": "enterprises",
    "ents": "enterprises",
    "eng": "engineering",
    "engg": "engineering",
    "constr": "construction",
    "prods": "products",
    "pharm": "pharmaceuticals",
    "med": "medical",
    "univ": "university",
    "dept": "department",
    "ctr": "center",
    "centre": "center",
    "tech": "technologies",
    "techs": "technologies",
    "technology": "technologies",
    "solns": "solutions",
    "sols": "solutions",
    "comms": "communications",
    "logist": "logistics",
    "mktg": "marketing",
}
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_GLUED = re.compile(r"['`´’.]")
_NAME_LABEL = re.compile(r"^.*?\b(?:name|from|payer|remitter|by)\s*:\s*", re.IGNORECASE)
# Truncation is only credited when enough of the name survives to tell customers apart.
_MIN_PREFIX_CHARS = 10
_PREFIX_BASE = 0.86
_COMMON_TOKEN_SHARE = 0.02
# token_sort_ratio (0..100) a customer needs in the batch comparison to be scored in full
_SHORTLIST_CUTOFF = 62
# a fuzzy score from which two names are one company written twice, whatever their tokens weigh
_CLEARLY_SAME = 0.95
# customers gathered from the name tokens before the batch comparison
_MAX_CANDIDATES = 60


@dataclass(slots=True, frozen=True)
class NormalisedName:
    """`full` keeps the legal form (a cut-off payer name may end inside it); `core` drops it."""

    full: str
    core: str
    compact: str
    tokens: tuple[str, ...]
    squeezed: str  # `full` without spaces


def _fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().replace("ß", "ss")


def _token_form(token: str) -> str:
    token = _ABBREVIATIONS.get(token, token)
    # plural and singular spell the same company ("Service" / "Services")
    if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    return token


def normalise_name(name: str, payer: bool = False) -> NormalisedName:
    """Case, accents, punctuation, abbreviations and legal suffixes removed; for a `payer`, bank prefixes too."""
    text = name
    if payer:
        text = _NAME_LABEL.sub("", text)
    text = _fold(text).replace("&", " and ").replace("+", " and ")
    text = _GLUED.sub("", text)
    raw_tokens = [t for t in _TOKEN_SPLIT.split(text) if t]
    if payer:
        while len(raw_tokens) > 1 and raw_tokens[0] in BANK_PREFIXES:
            raw_tokens.pop(0)
        raw_tokens = [t for t in raw_tokens if not (t.isdigit() and len(t) >= 5)]
    tokens = [_token_form(t) for t in raw_tokens if t not in _STOPWORDS]
    full = " ".join(tokens)
    core_tokens = list(tokens)
    while len(core_tokens) > 1 and core_tokens[-1] in LEGAL_SUFFIXES:
        core_tokens.pop()
    core = " ".join(core_tokens)
    return NormalisedName(full, core, core.replace(" ", ""), tuple(core_tokens), full.replace(" ", ""))


TokenWeight = Callable[[str], float]


def _even_weight(token: str) -> float:
    return 1.0


def _token_match(token: str, others: tuple[str, ...]) -> float:
    best = 0.0
    for other in others:
        if len(token) >= 2 and len(other) >= 2 and (other.startswith(token) or token.startswith(other)):
            best = max(best, 0.95)  # one of them cut off
        else:
            best = max(best, fuzz.ratio(token, other) / 100)
    return best


def _alignment(payer: NormalisedName, customer: NormalisedName, weight: TokenWeight) -> float:
    """Token-by-token agreement, each token weighted by how rare it is among customers: sharing `Coffee`
    and `Corporation` says little, sharing `Cobalt` says a lot."""
    total = matched = 0.0
    payer_tokens = payer.tokens
    customer_tokens = customer.tokens
    for token in payer_tokens:
        w = weight(token)
        total += w
        matched += w if token in customer_tokens else w * _token_match(token, customer_tokens)
    for token in customer_tokens:
        w = weight(token)
        total += w
        matched += w if token in payer_tokens else w * _token_match(token, payer_tokens)
    return matched / total if total else 0.0


def name_similarity(
    payer: NormalisedName, customer: NormalisedName, weight: TokenWeight = _even_weight, floor: float = 0.0
) -> float:
    """0..1; 1 for the same name after normalisation, about 0.9 and above for the same company written
    differently or cut off, and well below 0.8 for different companies that share a word. `weight`
    gives a token's distinctiveness (see `CustomerNameIndex`). A score that cannot reach `floor` is
    returned as soon as that is known, unrefined."""
    if not payer.core or not customer.core:
        return 0.0
    if payer.core == customer.core or payer.compact == customer.compact:
        return 1.0
    score = (
        max(
            fuzz.token_sort_ratio(payer.core, customer.core),
            fuzz.ratio(payer.compact, customer.compact),
            fuzz.ratio(payer.squeezed, customer.squeezed),
        )
        / 100
    )
    bonus = 0.0
    if len(payer.full) >= _MIN_PREFIX_CHARS and (
        customer.full.startswith(payer.full) or customer.core.startswith(payer.core)
    ):
        # a bank cut the name off: the longer the surviving part, the surer
        covered = min(1.0, len(payer.full) / max(len(customer.full), 1))
        bonus = _PREFIX_BASE + (0.99 - _PREFIX_BASE) * covered
    elif len(payer.tokens) >= 2 and set(payer.tokens) <= set(customer.tokens):
        # a word left out ("Acme Supplies" for "Acme Industrial Supplies")
        bonus = 0.75 + 0.2 * len(payer.core) / max(len(customer.core), 1)
    # the middle band is where a shared common word can pass for a match: weigh the tokens there
    if bonus < score < _CLEARLY_SAME and score >= floor and (len(payer.tokens) > 1 or len(customer.tokens) > 1):
        aligned = _alignment(payer, customer, weight)
        if aligned < score:
            score = (score + aligned) / 2
    return min(max(score, bonus), 1.0)


@dataclass(slots=True, frozen=True)
class NameCandidate:
    customer_id: str
    score: float


class CustomerNameIndex:
    """Customers by the tokens of their normalised names, for finding the few worth scoring against a payer."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        self._names: dict[str, NormalisedName] = {}
        self._display: dict[str, str] = {}
        by_token: dict[str, set[str]] = defaultdict(set)
        by_start: dict[str, set[str]] = defaultdict(set)
        for customer_id, name in names:
            if customer_id in self._names:
                continue
            normalised = normalise_name(name)
            self._names[customer_id] = normalised
            self._display[customer_id] = name
            for token in normalised.tokens:
                if len(token) >= 2:
                    by_token[token].add(customer_id)
            if len(normalised.compact) >= 4:
                by_start[normalised.compact[:4]].add(customer_id)
        common = max(50, int(len(self._names) * _COMMON_TOKEN_SHARE))
        count = max(len(self._names), 1)
        self._weights = {token: 1.0 + math.log(count / len(ids)) for token, ids in by_token.items()}
        self._rare_weight = 1.0 + math.log(count + 1)
        self._by_token = {token: tuple(ids) for token, ids in by_token.items()}
        self._by_start = {start: tuple(ids) for start, ids in by_start.items()}
        self._common = common
        self._cores = {customer_id: name.core for customer_id, name in self._names.items()}
        self._cache: dict[str, tuple[NameCandidate, ...]] = {}
        self._payers: dict[str, NormalisedName] = {}

    def __len__(self) -> int:
        return len(self._names)

    def payer(self, payer_name: str) -> NormalisedName:
        """`normalise_name(payer_name, payer=True)`, remembered: a batch scores one payer many times."""
        normalised = self._payers.get(payer_name)
        if normalised is None:
            normalised = self._payers[payer_name] = normalise_name(payer_name, payer=True)
        return normalised

    def weight(self, token: str) -> float:
        """How much a shared token says: log inverse share of customers whose name has it."""
        return self._weights.get(token, self._rare_weight)

    def display_name(self, customer_id: str) -> str:
        return self._display.get(customer_id, customer_id)

    def score(self, payer_name: str, customer_id: str) -> float:
        customer = self._names.get(customer_id)
        if customer is None:
            return 0.0
        return name_similarity(self.payer(payer_name), customer, self.weight)

    def rank(
        self, payer_name: str, customer_ids: Iterable[str], floor: float = 0.6, limit: int = 8
    ) -> list[NameCandidate]:
        """The customers among `customer_ids` whose name scores at least `floor`, best first. A batch
        comparison in rapidfuzz picks the few worth the full score."""
        payer = self.payer(payer_name)
        if not payer.core:
            return []
        cores = self._cores
        choices = {cid: cores[cid] for cid in customer_ids if cid in cores}
        if not choices:
            return []
        shortlisted = process.extract(
            payer.core, choices, scorer=fuzz.token_sort_ratio, score_cutoff=_SHORTLIST_CUTOFF, limit=limit
        )
        keys = {key for _, _, key in shortlisted}
        if len(payer.tokens) == 1 and len(payer.compact) >= 4:
            # a run-together name ("ACMECORP") scores low on tokens: add those starting the same way
            keys.update(cid for cid in self._by_start.get(payer.compact[:4], ()) if cid in choices)
        elif len(payer.full) >= _MIN_PREFIX_CHARS:
            # a cut-off name ("FITZGERALD P") scores low on tokens against the long name it is the start of
            names = self._names
            keys.update(
                cid
                for cid in self._by_start.get(payer.compact[:4], ())
                if cid in choices and (names[cid].full.startswith(payer.full) or names[cid].core.startswith(payer.core))
            )
        scored = []
        for customer_id in keys:
            score = name_similarity(payer, self._names[customer_id], self.weight, floor)
            if score >= floor:
                scored.append(NameCandidate(customer_id, score))
        scored.sort(key=lambda c: (-c.score, c.customer_id))
        return scored[:limit]

    def candidates(self, payer_name: str, floor: float = 0.6, limit: int = 8) -> tuple[NameCandidate, ...]:
        """Customers whose name scores at least `floor` against `payer_name`, best first; found through
        the payer's name tokens (all but the commonest) and the name's first letters."""
        cached = self._cache.get(payer_name)
        if cached is not None:
            return cached
        payer = self.payer(payer_name)
        found: set[str] = set()
        # rarest tokens first: the brand finds the customer, "Logistics" finds forty
        posting = sorted(
            (ids for token in payer.tokens if len(token) >= 3 and (ids := self._by_token.get(token))), key=len
        )
        for ids in posting:
            if found and (len(found) + len(ids) > _MAX_CANDIDATES or len(ids) > self._common):
                break
            found.update(ids[: self._common * 4])
        if len(payer.compact) >= 4:
            found.update(self._by_start.get(payer.compact[:4], ()))
        result = tuple(self.rank(payer_name, found, floor, limit))
        self._cache[payer_name] = result
        return result
