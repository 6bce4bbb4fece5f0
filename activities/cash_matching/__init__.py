"""Cash application: match incoming payments to open invoices (pure computation, no Temporal).

`MatchingEngine` is built once from the open invoices and learned payer aliases and decides each payment
`auto`, `review` or `unmatched`, with allocations, a calibrated confidence and an explanation a clerk can
read. The batch files of `duecourse match` and the labelled data of `duecourse bench match` live with the
CLI (`workers.batch`, `workers.bench`).
"""

from activities.cash_matching.combination import find_combination
from activities.cash_matching.engine import MatchingEngine, match_payments
from activities.cash_matching.model import (
    IncomingPayment,
    MatchAllocation,
    MatchConfig,
    MatchDecision,
    MatchResult,
    OpenInvoice,
)
from activities.cash_matching.names import CustomerNameIndex, name_similarity, normalise_name
from activities.cash_matching.references import InvoiceMention, ReferenceReading, read_reference

__all__ = [
    "CustomerNameIndex",
    "IncomingPayment",
    "InvoiceMention",
    "MatchAllocation",
    "MatchConfig",
    "MatchDecision",
    "MatchResult",
    "MatchingEngine",
    "OpenInvoice",
    "ReferenceReading",
    "find_combination",
    "match_payments",
    "name_similarity",
    "normalise_name",
    "read_reference",
]
