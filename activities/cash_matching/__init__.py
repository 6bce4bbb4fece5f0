"""Cash application: match incoming payments to open invoices (pure computation, no Temporal).

`MatchingEngine` is built once from the open invoices and learned payer aliases and decides each payment
`auto`, `review` or `unmatched`, with allocations, a calibrated confidence and an explanation a clerk can
read. `csv_io` reads and writes the batch files of `duecourse match`; `generator` makes the labelled data
set of `duecourse bench match`.
"""

from activities.cash_matching.csv_io import (
    CsvLoad,
    InputFileError,
    RowError,
    read_aliases,
    read_invoices,
    read_payments,
    write_matches,
)
from activities.cash_matching.engine import MatchingEngine, find_combination, match_payments
from activities.cash_matching.generator import LabelledDataset, LabelledPayment, generate_dataset
from activities.cash_matching.model import (
    Allocation,
    Decision,
    IncomingPayment,
    MatchConfig,
    MatchResult,
    OpenInvoice,
)
from activities.cash_matching.names import CustomerNameIndex, name_similarity, normalise_name
from activities.cash_matching.references import InvoiceMention, ReferenceReading, read_reference

__all__ = [
    "Allocation",
    "CsvLoad",
    "CustomerNameIndex",
    "Decision",
    "IncomingPayment",
    "InputFileError",
    "InvoiceMention",
    "LabelledDataset",
    "LabelledPayment",
    "MatchConfig",
    "MatchResult",
    "MatchingEngine",
    "OpenInvoice",
    "ReferenceReading",
    "RowError",
    "find_combination",
    "generate_dataset",
    "match_payments",
    "name_similarity",
    "normalise_name",
    "read_aliases",
    "read_invoices",
    "read_payments",
    "read_reference",
    "write_matches",
]
