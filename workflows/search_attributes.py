"""The search attributes every invoice workflow keeps current (PRODUCT.md, fixed interface)."""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from temporalio.common import SearchAttributeKey

LEDGER = SearchAttributeKey.for_keyword("Ledger")
INVOICE_ID = SearchAttributeKey.for_keyword("InvoiceId")
INVOICE_NUMBER = SearchAttributeKey.for_keyword("InvoiceNumber")
CUSTOMER_ID = SearchAttributeKey.for_keyword("CustomerId")
CUSTOMER_NAME = SearchAttributeKey.for_text("CustomerName")
STAGE = SearchAttributeKey.for_keyword("Stage")
AMOUNT_DUE = SearchAttributeKey.for_float("AmountDue")
DUE_DATE = SearchAttributeKey.for_datetime("DueDate")
DUNNING_LEVEL = SearchAttributeKey.for_int("DunningLevel")
AWAITING_APPROVAL = SearchAttributeKey.for_bool("AwaitingApproval")
RISK_SCORE = SearchAttributeKey.for_float("RiskScore")
# Who owns an escalated or disputed invoice on the collector worklist ("" nobody yet).
COLLECTOR = SearchAttributeKey.for_keyword("Collector")

KEYS: tuple[SearchAttributeKey[Any], ...] = (LEDGER, INVOICE_ID, INVOICE_NUMBER, CUSTOMER_ID, CUSTOMER_NAME, STAGE,
                                             AMOUNT_DUE, DUE_DATE, DUNNING_LEVEL, AWAITING_APPROVAL, RISK_SCORE,
                                             COLLECTOR)

# Name -> Temporal type name, as `temporal server start-dev --search-attribute` and the operator API take them.
REGISTRY: Mapping[str, str] = MappingProxyType({
    "Ledger": "Keyword",
    "InvoiceId": "Keyword",
    "InvoiceNumber": "Keyword",
    "CustomerId": "Keyword",
    "CustomerName": "Text",
    "Stage": "Keyword",
    "AmountDue": "Double",
    "DueDate": "Datetime",
    "DunningLevel": "Int",
    "AwaitingApproval": "Bool",
    "RiskScore": "Double",
    "Collector": "Keyword",
})
