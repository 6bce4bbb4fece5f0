"""QuickBooks Online's JSON <-> the ledger-neutral vocabulary: pure functions, no I/O.

Mapping choices
* Invoice status: QuickBooks has none. Voided (zero total, "Voided" in PrivateNote) -> void; Balance 0 ->
  paid; Balance below TotalAmt -> partially paid; otherwise open. There are no draft invoices: QuickBooks
  Online's API has no draft, pending or unapproved state on an Invoice (LEDGER_APIS.md A3: no status field;
  "Pending" is an Estimate's TxnStatus, and an estimate is not an invoice). An invoice exists once it is
  saved, and it is posted then; nothing on the wire marks one as waiting, so none maps to
  `InvoiceStatus.DRAFT`.
* Customers carry no time zone in QuickBooks: it comes from the billing address (BillAddr, else ShipAddr:
  Country, CountrySubDivisionCode, City) through `adapters.time_zones`, else the company's zone
  (DUECOURSE_COMPANY_TIME_ZONE, else CompanyInfo's CompanyAddr / LegalAddr / Country: `company_zone_from_wire`),
  else UTC, and `time_zone_source` says which. `country` is the address's (alpha-2), else the company's.
* Bank lines are the lines of QuickBooks Deposits, id `<deposit id>-<line id>`. The API has no bank-feed
  transactions; money that reached the bank is a Deposit, and each of its lines is either a received
  Payment moved out of Undeposited Funds (matched) or money booked straight to an account (unmatched: cash
  application's work; `unmatched_account_ids` narrows this to suspense accounts, other lines then count as
  ignored). Recording a payment for a bank line creates the Payment and relinks that deposit line to it
  (`bank_match_to_wire`); a payment smaller than the line leaves the rest as a new unmatched line. Unapplied
  Payments were the alternative; they already name a customer, which is the thing cash application infers.
* Credit notes are CreditMemos. When the draft names an invoice, the credit is applied to it with a
  zero-total Payment that links the invoice and the credit memo (`credit_application_to_wire`), QuickBooks'
  own way to apply credit.
* Change Data Capture rows become events (`events_from_wire`). Deposits are announced per line, as bank
  lines: an unmatched line as created (which starts cash application), others as updated.
* The AgedReceivables report (home currency) is read by its column titles (`aging_rows_from_wire`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.ledger import (
    CENT,
    AgingRow,
    Allocation,
    BankLine,
    BankLineStatus,
    CreditNote,
    CreditNoteDraft,
    Customer,
    CustomerDraft,
    Estimate,
    EstimateStatus,
    EventOperation,
    Invoice,
    InvoiceDraft,
    InvoiceLine,
    InvoiceStatus,
    LedgerEvent,
    Money,
    Payment,
    PaymentRequest,
    PermanentLedgerError,
)
from adapters.ledgers.quickbooks import LEDGER
from adapters.ledgers.quickbooks.webhooks import event_id, parse_time, vocabulary_entity
from adapters.time_zones import CompanyZone, country_code, customer_zone, zone_for_address

PAYMENT_REF_MAX = 21  # PaymentRefNum's documented length

# TxnStatus values. Only "Pending" is in Intuit's fixtures; the rest are the UI's words (LEDGER_APIS Part E 3).
ESTIMATE_STATUSES = {
    "Pending": EstimateStatus.PENDING,
    "Accepted": EstimateStatus.ACCEPTED,
    "Rejected": EstimateStatus.REJECTED,
    "Closed": EstimateStatus.CLOSED,
    "Converted": EstimateStatus.CLOSED,
}

# What `add_note` may annotate, in QuickBooks' entity names.
NOTE_ENTITIES = {
    "Customer": "Customer",
    "Invoice": "Invoice",
    "Payment": "Payment",
    "Estimate": "Estimate",
    "CreditNote": "CreditMemo",
    "BankLine": "Deposit",
}

log = logging.getLogger(__name__)


# --- small readers -------------------------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise PermanentLedgerError(f"QuickBooks sent {value!r} where a number belongs") from None


def _amount(value: Any) -> Decimal:
    """An amount as QuickBooks sent it, shown with cents when that loses nothing (300.0 -> 300.00)."""
    number = _decimal(value)
    cents = number.quantize(CENT)
    return cents if cents == number else number


def amount_of(value: Any) -> Decimal:
    """A figure of a QuickBooks object (e.g. a deposit line's Amount), with cents when that loses nothing."""
    return _amount(value)


def ref_of(value: Any) -> str | None:
    """The id a QuickBooks reference (`{"value": "58", "name": ...}`) names."""
    if isinstance(value, dict) and value.get("value") not in (None, ""):
        return str(value["value"])
    return None


def _when(value: Any) -> datetime | None:
    """A MetaData timestamp, or None when it is missing or unreadable."""
    if not value:
        return None
    try:
        return parse_time(value, "MetaData")
    except ValueError:
        return None


def _updated(raw: dict[str, Any]) -> datetime | None:
    return _when((raw.get("MetaData") or {}).get("LastUpdatedTime"))


def linked_ids(line: dict[str, Any], kind: str) -> list[str]:
    """The ids of the transactions of type `kind` a line links to."""
    return [str(link["TxnId"]) for link in line.get("LinkedTxn") or [] if link.get("TxnType") == kind]


def _is_void(txn: dict[str, Any]) -> bool:
    return ("voided" in str(txn.get("PrivateNote") or "").lower()
            and _decimal(txn.get("TotalAmt")) == 0 and _decimal(txn.get("Balance")) == 0)


def _currency(txn: dict[str, Any], home: str) -> str:
    return (ref_of(txn.get("CurrencyRef")) or home).upper()


def _money(value: Any, currency: str) -> Money:
    return Money(amount=_amount(value), currency=currency)


# --- wire -> vocabulary -----------------------------------------------------------------------------------


def _lines(raw_lines: Any) -> list[InvoiceLine]:
    lines: list[InvoiceLine] = []
    for line in raw_lines or []:
        kind = line.get("DetailType")
        amount = _amount(line.get("Amount"))
        if kind == "SalesItemLineDetail":
            detail = line.get("SalesItemLineDetail") or {}
            quantity = _decimal(detail.get("Qty")) or Decimal("1")
            price = detail.get("UnitPrice")
            lines.append(InvoiceLine(description=line.get("Description") or "", quantity=quantity,
                                     unit_price=_amount(price) if price not in (None, "") else amount, amount=amount))
        elif kind == "GroupLineDetail":
            lines.extend(_lines((line.get("GroupLineDetail") or {}).get("Line")))
        elif kind == "DiscountLineDetail":
            lines.append(InvoiceLine(description=line.get("Description") or "Discount", unit_price=-amount,
                                     amount=-amount))
    return lines


def _invoice_status(invoice: dict[str, Any]) -> InvoiceStatus:
    total, balance = _decimal(invoice.get("TotalAmt")), _decimal(invoice.get("Balance"))
    if _is_void(invoice):
        return InvoiceStatus.VOID
    if balance == 0:
        return InvoiceStatus.PAID
    if balance < total:
        return InvoiceStatus.PARTIALLY_PAID
    return InvoiceStatus.OPEN


def invoice_from_wire(raw: dict[str, Any], home: str) -> Invoice:
    currency = _currency(raw, home)
    customer = raw.get("CustomerRef") or {}
    issued = date.fromisoformat(raw["TxnDate"])
    return Invoice(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(customer.get("value", "")),
        customer_name=str(customer.get("name") or ""),
        currency=currency,
        lines=_lines(raw.get("Line")),
        total=_money(raw.get("TotalAmt"), currency),
        balance=_money(raw.get("Balance"), currency),
        issue_date=issued,
        due_date=date.fromisoformat(raw["DueDate"]) if raw.get("DueDate") else issued,
        status=_invoice_status(raw),
        email=(raw.get("BillEmail") or {}).get("Address") or None,
        updated_at=_updated(raw),
    )


def _place(address: Any) -> tuple[str | None, str | None, str | None]:
    """(Country, CountrySubDivisionCode, City) of a QuickBooks address, each None when blank."""
    fields = address if isinstance(address, dict) else {}

    def field(name: str) -> str | None:
        return str(fields.get(name) or "").strip() or None

    return field("Country"), field("CountrySubDivisionCode"), field("City")


def customer_address(raw: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """The place a customer is billed at: BillAddr, else ShipAddr when BillAddr names no place."""
    billing = _place(raw.get("BillAddr"))
    return billing if any(billing) else _place(raw.get("ShipAddr"))


def address_gives_zone(raw: dict[str, Any]) -> bool:
    """Whether the customer's own address names its country and zone (no need to know the company's)."""
    country, region, city = customer_address(raw)
    return country_code(country) is not None and zone_for_address(country, region, city) is not None


def company_zone_from_wire(info: dict[str, Any], configured: CompanyZone | None) -> CompanyZone:
    """The company's zone: the configured one, else the one its CompanyInfo address gives (CompanyAddr, then
    LegalAddr, then Country alone); `zone` None when neither says. The country comes from CompanyInfo."""
    info = info.get("CompanyInfo", info)
    places = [_place(info.get("CompanyAddr")), _place(info.get("LegalAddr"))]
    country = next((code for place in places if (code := country_code(place[0]))), None) or country_code(
        str(info.get("Country") or ""))
    if configured is not None:
        return CompanyZone(zone=configured.zone, origin=configured.origin, country=country)
    for which, (place_country, region, city) in zip(("CompanyAddr", "LegalAddr"), places, strict=True):
        found = zone_for_address(place_country or country, region, city)
        if found is not None:
            return CompanyZone(zone=found[0], origin=f"QuickBooks CompanyInfo {which}", country=country)
    found = zone_for_address(country)
    return CompanyZone(zone=found[0] if found else None, origin="QuickBooks CompanyInfo Country", country=country)


def customer_from_wire(raw: dict[str, Any], home: str, terms: Mapping[str, int], default_terms: int,
                       company: CompanyZone | None = None) -> Customer:
    """`terms` maps Term ids to their due days (a customer names its Term by id); `company` is the company's
    zone, for a customer whose address gives none."""
    # QuickBooks keeps several addresses in one field, comma separated.
    field = str((raw.get("PrimaryEmailAddr") or {}).get("Address") or "")
    addresses = [a.strip() for a in field.replace(";", ",").split(",") if a.strip()]
    term = ref_of(raw.get("SalesTermRef"))
    zone = customer_zone(*customer_address(raw), company)
    return Customer(
        id=str(raw["Id"]),
        name=str(raw.get("DisplayName") or raw.get("CompanyName") or raw["Id"]),
        email=addresses[0] if addresses else None,
        alternate_emails=addresses[1:],
        currency=_currency(raw, home),
        terms_days=terms.get(term, default_terms) if term else default_terms,
        time_zone=zone.zone,
        time_zone_source=zone.source,
        country=zone.country or (company.country if company is not None else None) or "US",
    )


def estimate_from_wire(raw: dict[str, Any], home: str) -> Estimate:
    currency = _currency(raw, home)
    status = str(raw.get("TxnStatus") or "Pending")
    if status not in ESTIMATE_STATUSES:
        log.warning("QuickBooks estimate %s has TxnStatus %r; treating it as pending", raw.get("Id"), status)
    return Estimate(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(ref_of(raw.get("CustomerRef")) or ""),
        currency=currency,
        lines=_lines(raw.get("Line")),
        total=_money(raw.get("TotalAmt"), currency),
        status=ESTIMATE_STATUSES.get(status, EstimateStatus.PENDING),
        issue_date=date.fromisoformat(raw["TxnDate"]),
    )


def payment_from_wire(raw: dict[str, Any], home: str) -> Payment:
    currency = _currency(raw, home)
    allocations = [
        Allocation(invoice_id=invoice_id, amount=_money(line.get("Amount"), currency))
        for line in raw.get("Line") or []
        for invoice_id in linked_ids(line, "Invoice")[:1]
    ]
    return Payment(
        id=str(raw["Id"]),
        customer_id=str(ref_of(raw.get("CustomerRef")) or ""),
        date=date.fromisoformat(raw["TxnDate"]),
        amount=_money(raw.get("TotalAmt"), currency),
        allocations=allocations,
        unapplied=_money(raw.get("UnappliedAmt"), currency),
        reference=str(raw.get("PaymentRefNum") or ""),
    )


def credit_remaining(raw: dict[str, Any]) -> Decimal:
    """What is left of a credit memo (RemainingCredit; older answers call it Balance)."""
    return _decimal(raw.get("RemainingCredit", raw.get("Balance")))


def credit_note_from_wire(raw: dict[str, Any], home: str, invoice_id: str | None) -> CreditNote:
    currency = _currency(raw, home)
    remaining = raw.get("RemainingCredit", raw.get("Balance"))
    remaining_amount = _amount(remaining)
    status = "void" if _is_void({**raw, "Balance": remaining}) else "applied" if remaining_amount == 0 else "open"
    return CreditNote(
        id=str(raw["Id"]),
        number=str(raw.get("DocNumber") or raw["Id"]),
        customer_id=str(ref_of(raw.get("CustomerRef")) or ""),
        total=_money(raw.get("TotalAmt"), currency),
        remaining=Money(amount=remaining_amount, currency=currency),
        status=status,
        invoice_id=invoice_id,
    )


def credit_invoices_from_wire(payments: list[dict[str, Any]]) -> dict[str, str]:
    """Credit memo id -> the invoice it was applied to, read from the payments that apply credit."""
    applied: dict[str, str] = {}
    for payment in payments:
        invoices = [i for line in payment.get("Line") or [] for i in linked_ids(line, "Invoice")]
        credits = [c for line in payment.get("Line") or [] for c in linked_ids(line, "CreditMemo")]
        if len(invoices) == 1:
            for credit in credits:
                applied.setdefault(credit, invoices[0])
    return applied


def line_id(deposit: dict[str, Any], index: int) -> str:
    """The id of a deposit's line (its Id, else its 1-based position)."""
    return str(deposit["Line"][index].get("Id") or index + 1)


def split_bank_line_id(bank_line_id: str) -> tuple[str, str]:
    """`<deposit id>-<line id>` -> (deposit id, line id); either is "" when the id has no dash."""
    deposit_id, _, line = bank_line_id.rpartition("-")
    return deposit_id, line


def unnamed_payers(deposits: list[dict[str, Any]]) -> list[str]:
    """Ids of the customers deposit lines name only by id (QuickBooks often leaves the name out)."""
    return sorted({str(ref_of(entity)) for deposit in deposits for line in deposit.get("Line") or []
                   if (entity := (line.get("DepositLineDetail") or {}).get("Entity"))
                   and ref_of(entity) and not entity.get("name")})


def bank_lines_from_wire(deposit: dict[str, Any], home: str, unmatched_accounts: frozenset[str] | None,
                         payers: Mapping[str, str] | None = None) -> list[BankLine]:
    """The bank lines of one Deposit; `payers` names the customers its lines name only by id."""
    currency = _currency(deposit, home)
    lines: list[BankLine] = []
    for index, line in enumerate(deposit.get("Line") or []):
        detail = line.get("DepositLineDetail") or {}
        if linked_ids(line, "Payment"):
            status = BankLineStatus.MATCHED
        elif unmatched_accounts is not None and ref_of(detail.get("AccountRef")) not in unmatched_accounts:
            status = BankLineStatus.IGNORED
        else:
            status = BankLineStatus.UNMATCHED
        entity = detail.get("Entity") or {}
        payer = (entity.get("name") or (payers or {}).get(str(ref_of(entity))) or line.get("Description")
                 or deposit.get("PrivateNote") or "")
        reference = detail.get("CheckNum") or line.get("Description") or deposit.get("PrivateNote") or ""
        lines.append(BankLine(
            id=f"{deposit['Id']}-{line_id(deposit, index)}",
            date=date.fromisoformat(deposit["TxnDate"]),
            amount=_money(line.get("Amount"), currency),
            payer_name=str(payer),
            reference=str(reference),
            status=status,
        ))
    return lines


def _aging_columns(report: dict[str, Any]) -> dict[int, int]:
    """Column index -> the first day past due it covers, from the titles ("Current", "1 - 30", "91 and over")."""
    columns: dict[int, int] = {}
    for index, column in enumerate((report.get("Columns") or {}).get("Column") or []):
        title = str(column.get("ColTitle") or "").strip().lower()
        if column.get("ColType") != "Money" or title == "total":
            continue
        if title == "current":
            columns[index] = 0
            continue
        match = re.match(r"(\d+)", title)
        if match is not None:
            columns[index] = int(match[1])
    return columns


def aging_rows_from_wire(report: dict[str, Any], home: str) -> list[AgingRow]:
    """The rows of an AgedReceivables report (its JSON as QuickBooks sends it), one per customer."""
    header = report.get("Header") or {}
    options = {o.get("Name"): o.get("Value") for o in header.get("Option") or []}
    if str(options.get("NoReportData", "false")).lower() == "true":
        return []
    currency = str(header.get("Currency") or home).upper()
    columns = _aging_columns(report)
    rows: dict[str, AgingRow] = {}

    def walk(raw_rows: Any) -> None:
        for row in raw_rows or []:
            if row.get("type") == "Section" or "Rows" in row:
                if row.get("group") != "GrandTotal":
                    walk((row.get("Rows") or {}).get("Row"))
                continue
            cells = row.get("ColData") or []
            if not cells or not cells[0].get("id"):
                continue
            customer_id = str(cells[0]["id"])
            name = str(cells[0].get("value") or "")
            aging = rows.setdefault(customer_id,
                                    AgingRow(customer_id=customer_id, customer_name=name, currency=currency))
            for index, days_past_due in columns.items():
                if index < len(cells):
                    aging.add(days_past_due, _amount(cells[index].get("value")))

    walk((report.get("Rows") or {}).get("Row"))
    return list(rows.values())


def _change_operation(entity: str, raw: dict[str, Any]) -> EventOperation:
    if raw.get("status") == "Deleted":
        return EventOperation.DELETE
    if entity in ("Invoice", "Payment", "CreditMemo") and _is_void(raw):
        return EventOperation.VOID
    meta = raw.get("MetaData") or {}
    if meta.get("CreateTime") and meta.get("CreateTime") == meta.get("LastUpdatedTime"):
        return EventOperation.CREATE
    return EventOperation.UPDATE


def events_from_wire(entity: str, raw: dict[str, Any], realm_id: str, home: str,
                     unmatched_accounts: frozenset[str] | None, received_at: datetime) -> list[LedgerEvent]:
    """The events one CDC row stands for (`received_at` stamps a row without LastUpdatedTime)."""
    occurred = _updated(raw) or received_at
    if entity == "Deposit" and raw.get("status") != "Deleted":
        # CDC says only that the deposit changed. A line still waiting for cash application is announced
        # as created (that starts its CashApplication; a repeat finds it already started), whether the
        # deposit is new or a line was added to it; any other line as updated.
        events = []
        for line in bank_lines_from_wire(raw, home, unmatched_accounts):
            kind = EventOperation.CREATE if line.status == BankLineStatus.UNMATCHED else EventOperation.UPDATE
            events.append(LedgerEvent(ledger=LEDGER, tenant=realm_id,
                                      event_id=event_id(realm_id, "BankLine", line.id, kind, occurred),
                                      entity="BankLine", entity_id=line.id, operation=kind, occurred_at=occurred))
        return events
    operation = _change_operation(entity, raw)
    entity_id = str(raw.get("Id"))
    return [LedgerEvent(ledger=LEDGER, tenant=realm_id,
                        event_id=event_id(realm_id, entity, entity_id, operation, occurred),
                        entity=vocabulary_entity(entity), entity_id=entity_id, operation=operation,
                        occurred_at=occurred)]


def newest_update(rows: list[dict[str, Any]]) -> datetime | None:
    """The latest LastUpdatedTime among CDC rows (None when none carries one)."""
    stamps = [t for row in rows if (t := _updated(row))]
    return max(stamps) if stamps else None


# --- vocabulary -> wire ------------------------------------------------------------------------------------


def _currency_ref(currency: str, home: str) -> dict[str, Any]:
    # A company without multicurrency knows only its home currency: name another one only when asked.
    return {} if currency.upper() == home else {"CurrencyRef": {"value": currency.upper()}}


def _sales_line(line: InvoiceLine, item_id: str | None) -> dict[str, Any]:
    """`item_id` None leaves ItemRef out, and QuickBooks uses its default service item."""
    detail: dict[str, Any] = {"Qty": line.quantity, "UnitPrice": line.unit_price}
    if item_id:
        detail["ItemRef"] = {"value": item_id}
    return {"Amount": line.amount, "Description": line.description, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": detail}


def term_to_wire(days: int) -> dict[str, Any]:
    return {"Name": f"Net {days}", "DueDays": days, "Type": "STANDARD"}


def terms_days_from_wire(terms: list[dict[str, Any]]) -> dict[str, int]:
    """Term id -> its due days."""
    return {str(t["Id"]): int(_decimal(t.get("DueDays"))) for t in terms}


def customer_to_wire(draft: CustomerDraft, home: str, term_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": draft.name.strip(), "CompanyName": draft.name.strip(),
                            **_currency_ref(draft.currency, home)}
    if draft.email:
        body["PrimaryEmailAddr"] = {"Address": draft.email}
    body["SalesTermRef"] = {"value": term_id}
    return body


def _sales_form_to_wire(kind: str, draft: InvoiceDraft | CreditNoteDraft, home: str, item_id: str | None,
                        dates: dict[str, date]) -> dict[str, Any]:
    """What an Invoice and a CreditMemo body share: customer, dates, sales lines, currency."""
    if not draft.lines:
        raise PermanentLedgerError(f"{kind} needs at least one line")
    return {
        "CustomerRef": {"value": draft.customer_id},
        "TxnDate": draft.issue_date,
        **dates,
        "Line": [_sales_line(line, item_id) for line in draft.lines],
        **_currency_ref(draft.currency, home),
    }


def invoice_to_wire(draft: InvoiceDraft, home: str, item_id: str | None) -> dict[str, Any]:
    body = _sales_form_to_wire("an invoice", draft, home, item_id, {"DueDate": draft.due_date})
    if draft.number:
        body["DocNumber"] = draft.number
    if draft.estimate_id:
        body["LinkedTxn"] = [{"TxnId": draft.estimate_id, "TxnType": "Estimate"}]
    return body


def void_to_wire(invoice: dict[str, Any]) -> dict[str, Any] | None:
    """The body of `operation=void`; None when the invoice is void already (nothing left to do)."""
    return None if _is_void(invoice) else {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}


def note_to_wire(entity: str, entity_id: str, text: str) -> dict[str, Any]:
    """An Attachable note on the entity; a bank line's note goes on its Deposit."""
    if entity not in NOTE_ENTITIES:
        raise PermanentLedgerError(f"cannot add a note to {entity!r}: one of {', '.join(NOTE_ENTITIES)} expected")
    if not text.strip():
        raise PermanentLedgerError("a note needs some text")
    target = split_bank_line_id(entity_id)[0] if entity == "BankLine" else entity_id
    return {"Note": text, "AttachableRef": [{"EntityRef": {"type": NOTE_ENTITIES[entity], "value": target},
                                             "IncludeOnSend": False}]}


def payment_to_wire(request: PaymentRequest, per_invoice: Mapping[str, Decimal], marker: str,
                    home: str) -> dict[str, Any]:
    """`marker` goes in PrivateNote, so a retry can tell this request's payment from any other."""
    body: dict[str, Any] = {
        "CustomerRef": {"value": request.customer_id},
        "TotalAmt": request.amount.amount,
        "TxnDate": request.date,
        "PrivateNote": f"{marker}" + (f"; reference {request.reference}" if request.reference else ""),
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                 for invoice_id, amount in per_invoice.items()],
        **_currency_ref(request.amount.currency, home),
    }
    if request.reference:
        body["PaymentRefNum"] = request.reference[:PAYMENT_REF_MAX]
    return body


def bank_match_to_wire(deposit: dict[str, Any], bank_line_id: str, payment: dict[str, Any]) -> dict[str, Any] | None:
    """The sparse Deposit update that relinks the bank line to the payment (money moves from the booked
    account to the payment); a rest beyond the payment stays as a new unmatched line. None when the line
    already names this payment."""
    wanted = split_bank_line_id(bank_line_id)[1]
    paid = _decimal(payment.get("TotalAmt"))
    lines: list[dict[str, Any]] = []
    for index, line in enumerate(deposit.get("Line") or []):
        if line_id(deposit, index) != wanted:
            lines.append(line)
            continue
        if str(payment["Id"]) in linked_ids(line, "Payment"):
            return None
        if linked_ids(line, "Payment"):
            raise PermanentLedgerError(f"bank line {bank_line_id} was matched to another payment meanwhile")
        lines.append({"Id": line.get("Id") or wanted, "Amount": paid,
                      "LinkedTxn": [{"TxnId": str(payment["Id"]), "TxnType": "Payment", "TxnLineId": "0"}]})
        rest = _decimal(line.get("Amount")) - paid
        if rest > 0:
            remainder = {k: v for k, v in line.items() if k not in ("Id", "LineNum", "LinkedTxn")}
            lines.append({**remainder, "Amount": rest,
                          "Description": f"rest of bank line {bank_line_id} after payment {payment['Id']}"})
    return {"Id": deposit["Id"], "SyncToken": deposit["SyncToken"], "sparse": True, "Line": lines}


def credit_note_to_wire(draft: CreditNoteDraft, home: str, item_id: str | None) -> dict[str, Any]:
    body = _sales_form_to_wire("a credit note", draft, home, item_id, {})
    if draft.reason:
        body["CustomerMemo"] = {"value": draft.reason}
    return body


def credit_application_to_wire(draft: CreditNoteDraft, memo: dict[str, Any], invoice: dict[str, Any],
                               amount: Decimal, home: str) -> dict[str, Any]:
    """The zero-total Payment that applies `amount` of the credit memo to the invoice the draft names."""
    invoice_id = str(draft.invoice_id)
    return {
        "CustomerRef": {"value": draft.customer_id},
        "TotalAmt": Decimal("0"),
        "TxnDate": draft.issue_date,
        "PrivateNote": f"duecourse: credit memo {memo.get('DocNumber') or memo['Id']} applied to "
                       f"invoice {invoice.get('DocNumber') or invoice_id}",
        "Line": [{"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]},
                 {"Amount": amount, "LinkedTxn": [{"TxnId": str(memo["Id"]), "TxnType": "CreditMemo"}]}],
        **_currency_ref(draft.currency, home),
    }
