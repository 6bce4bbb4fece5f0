"""Payer names against customer names.

Banks hand over the payer's name the way their systems keep it: upper-cased, accents and punctuation gone,
cut at 18-35 characters, behind prefixes such as `ACH CREDIT` or `ORIG CO NAME:`, with the legal form
abbreviated, spelt out or missing. `normalise_name` removes what does not identify the company;
`name_similarity` scores two normalised names in 0..1 with rapidfuzz, crediting a payer name that is a
cut-off beginning of the customer's name; `CustomerNameIndex` finds the few customers worth scoring for a
payer through an index of name tokens, so a payer is never compared with every customer.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

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


@dataclass(slots=True, frozen=True)
class NormalisedName:
    """`full` keeps the legal form (a cut-off payer name may end inside it); `core` drops it."""

    full: str
    core: str
    compact: str
    tokens: tuple[str, ...]


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower().replace("ß", "ss")


def _token_form(token: str) -> str:
    token = _ABBREVIATIONS.get(token, token)
    # plural and singular spell the same company ("Service" / "Services")
    if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    return token


@lru_cache(maxsize=131_072)
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
    return NormalisedName(full, core, core.replace(" ", ""), tuple(core_tokens))


def name_similarity(payer: NormalisedName, customer: NormalisedName) -> float:
    """0..1; 1 for the same name after normalisation, about 0.9 and above for the same company written
    differently or cut off, and well below 0.8 for different companies that share a word."""
    if not payer.core or not customer.core:
        return 0.0
    if payer.core == customer.core or payer.compact == customer.compact:
        return 1.0
    score = max(
        fuzz.token_sort_ratio(payer.core, customer.core),
        fuzz.ratio(payer.compact, customer.compact),
        fuzz.ratio(payer.full.replace(" ", ""), customer.full.replace(" ", "")),
    ) / 100
    if len(payer.full) >= _MIN_PREFIX_CHARS and (
        customer.full.startswith(payer.full) or customer.core.startswith(payer.core)
    ):
        # a bank cut the name off: the longer the surviving part, the surer
        covered = min(1.0, len(payer.full) / max(len(customer.full), 1))
        score = max(score, _PREFIX_BASE + (0.99 - _PREFIX_BASE) * covered)
    elif len(payer.tokens) >= 2 and set(payer.tokens) <= set(customer.tokens):
        # a word left out ("Acme Supplies" for "Acme Industrial Supplies")
        covered = len(payer.core) / max(len(customer.core), 1)
        score = max(score, 0.75 + 0.2 * covered)
    return min(score, 1.0)


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
        self._by_token = {token: tuple(ids) for token, ids in by_token.items()}
        self._by_start = {start: tuple(ids) for start, ids in by_start.items()}
        self._common = common
        self._cache: dict[str, tuple[NameCandidate, ...]] = {}

    def __len__(self) -> int:
        return len(self._names)

    def display_name(self, customer_id: str) -> str:
        return self._display.get(customer_id, customer_id)

    def score(self, payer_name: str, customer_id: str) -> float:
        customer = self._names.get(customer_id)
        if customer is None:
            return 0.0
        return name_similarity(normalise_name(payer_name, payer=True), customer)

    def candidates(self, payer_name: str, floor: float = 0.6, limit: int = 8) -> tuple[NameCandidate, ...]:
        """Customers whose name scores at least `floor` against `payer_name`, best first."""
        cached = self._cache.get(payer_name)
        if cached is not None:
            return cached
        payer = normalise_name(payer_name, payer=True)
        found: set[str] = set()
        rare_hit = False
        for token in payer.tokens:
            if len(token) < 3:
                continue
            ids = self._by_token.get(token)
            if ids and len(ids) <= self._common:
                found.update(ids)
                rare_hit = True
        if not rare_hit:
            for token in payer.tokens:
                ids = self._by_token.get(token)
                if ids:
                    found.update(ids[: self._common * 4])
        if len(payer.compact) >= 4:
            found.update(self._by_start.get(payer.compact[:4], ()))
        scored = []
        for customer_id in found:
            score = name_similarity(payer, self._names[customer_id])
            if score >= floor:
                scored.append(NameCandidate(customer_id, score))
        scored.sort(key=lambda c: (-c.score, c.customer_id))
        result = tuple(scored[:limit])
        self._cache[payer_name] = result
        return result
