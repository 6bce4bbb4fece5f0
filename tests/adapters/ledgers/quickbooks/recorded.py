"""Recorded-shape QuickBooks payloads (LEDGER_APIS.md A3), stored in the emulator exactly as QuickBooks
sends them."""

from __future__ import annotations

from datetime import timedelta, timezone

PACIFIC = timezone(timedelta(hours=-7))


CUSTOMER_58 = """{"Customer": {
  "Id": "58", "SyncToken": "0", "domain": "QBO", "sparse": false,
  "DisplayName": "Acme Ltd", "CompanyName": "Acme Ltd", "GivenName": "Ann", "FamilyName": "Lee",
  "PrimaryEmailAddr": {"Address": "ap@acme.example, billing@acme.example"},
  "PrimaryPhone": {"FreeFormNumber": "(555) 010-2000"},
  "BillAddr": {"Id": "91", "Line1": "1 Main St", "City": "Springfield",
               "CountrySubDivisionCode": "CA", "PostalCode": "94000", "Country": "USA"},
  "Balance": 1250.0, "BalanceWithJobs": 1250.0, "Active": true, "Taxable": false,
  "Job": false, "BillWithParent": false, "PreferredDeliveryMethod": "Email",
  "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
  "SalesTermRef": {"value": "3"},
  "MetaData": {"CreateTime": "2024-05-01T10:00:00-07:00", "LastUpdatedTime": "2024-05-01T10:00:00-07:00"},
  "FullyQualifiedName": "Acme Ltd", "PrintOnCheckName": "Acme Ltd"},
 "time": "2024-05-01T10:00:00.123-07:00"}"""

INVOICE_130 = """{"Invoice": {
  "Id": "130", "SyncToken": "0", "domain": "QBO", "sparse": false,
  "DocNumber": "1037", "TxnDate": "2024-06-01", "DueDate": "2024-07-01",
  "CustomerRef": {"value": "58", "name": "Acme Ltd"},
  "BillEmail": {"Address": "ap@acme.example"},
  "SalesTermRef": {"value": "3"},
  "CurrencyRef": {"value": "USD", "name": "United States Dollar"},
  "Line": [
    {"Id": "1", "LineNum": 1, "Description": "Consulting", "Amount": 300.0,
     "DetailType": "SalesItemLineDetail",
     "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Services"},
                             "Qty": 3, "UnitPrice": 100.0, "TaxCodeRef": {"value": "NON"}}},
    {"Amount": 300.0, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
  ],
  "TxnTaxDetail": {"TotalTax": 0},
  "TotalAmt": 300.0, "Balance": 300.0, "HomeBalance": 300.0, "Deposit": 0,
  "ApplyTaxAfterDiscount": false,
  "PrintStatus": "NeedToPrint", "EmailStatus": "NotSet",
  "AllowOnlineCreditCardPayment": false, "AllowOnlineACHPayment": false,
  "CustomerMemo": {"value": "Thanks for your business"},
  "PrivateNote": "",
  "LinkedTxn": [],
  "MetaData": {"CreateTime": "2024-06-01T10:02:11-07:00", "LastUpdatedTime": "2024-06-01T10:02:11-07:00"}},
 "time": "2024-06-01T10:02:11.456-07:00"}"""

# The same shape, part paid: 450.00 billed, 300.00 still open.
INVOICE_131 = INVOICE_130.replace('"130"', '"131"').replace('"1037"', '"1038"').replace(
    '"TotalAmt": 300.0, "Balance": 300.0', '"TotalAmt": 450.0, "Balance": 300.0').replace(
    '"LinkedTxn": []', '"LinkedTxn": [{"TxnId": "201", "TxnType": "Payment"}]')

PAYMENT_201 = """{"Payment": {
  "Id": "201", "SyncToken": "0", "domain": "QBO", "sparse": false,
  "CustomerRef": {"value": "58", "name": "Acme Ltd"},
  "TxnDate": "2024-06-15", "TotalAmt": 500.0, "UnappliedAmt": 50.0,
  "PaymentRefNum": "CHK-1001", "PaymentMethodRef": {"value": "2"},
  "DepositToAccountRef": {"value": "4"},
  "ProcessPayment": false, "CurrencyRef": {"value": "USD"},
  "Line": [
    {"Amount": 300.0, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
    {"Amount": 150.0, "LinkedTxn": [{"TxnId": "131", "TxnType": "Invoice"}]}
  ],
  "MetaData": {"CreateTime": "2024-06-15T08:00:00-07:00", "LastUpdatedTime": "2024-06-15T08:00:00-07:00"}},
 "time": "2024-06-15T08:00:00.000-07:00"}"""

ESTIMATE_140 = """{"Estimate": {
  "Id": "140", "SyncToken": "0", "DocNumber": "1001", "TxnDate": "2024-06-01",
  "ExpirationDate": "2024-06-30", "TxnStatus": "Pending",
  "CustomerRef": {"value": "58"}, "BillEmail": {"Address": "ap@acme.example"},
  "Line": [{"Amount": 300.0, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 100.0}}],
  "TotalAmt": 300.0, "EmailStatus": "NotSet", "PrintStatus": "NeedToPrint",
  "AcceptedBy": null, "AcceptedDate": null, "LinkedTxn": []},
 "time": "2024-06-01T10:00:00.000-07:00"}"""

CREDIT_MEMO_150 = """{"CreditMemo": {"Id": "150", "SyncToken": "0", "DocNumber": "CM-1", "TxnDate": "2024-06-10",
  "CustomerRef": {"value": "58"},
  "Line": [{"Amount": 50.0, "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1, "UnitPrice": 50.0}}],
  "TotalAmt": 50.0, "RemainingCredit": 50.0, "Balance": 50.0}, "time": "2024-06-10T10:00:00.000-07:00"}"""

DEPOSIT_300 = """{"Deposit": {"Id": "300", "SyncToken": "0", "TxnDate": "2024-06-16",
  "DepositToAccountRef": {"value": "35", "name": "Checking"},
  "Line": [
    {"Amount": 500.0, "LinkedTxn": [{"TxnId": "201", "TxnType": "Payment", "TxnLineId": "0"}]},
    {"Amount": 20.0, "DetailType": "DepositLineDetail",
     "DepositLineDetail": {"AccountRef": {"value": "79", "name": "Interest Income"},
                           "Entity": {"value": "58", "type": "CUSTOMER"}}}
  ],
  "TotalAmt": 520.0, "CurrencyRef": {"value": "USD"}}, "time": "2024-06-16T10:00:00.000-07:00"}"""

AGED_RECEIVABLES = """{"Header": {"Time": "2024-06-30T10:00:00-07:00", "ReportName": "AgedReceivables",
            "DateMacro": "today", "StartPeriod": "2024-06-30", "EndPeriod": "2024-06-30",
            "Currency": "USD",
            "Option": [{"Name": "report_date", "Value": "2024-06-30"},
                       {"Name": "NoReportData", "Value": "false"}]},
 "Columns": {"Column": [
   {"ColType": "Customer", "ColTitle": ""},
   {"ColType": "Money", "ColTitle": "Current"},
   {"ColType": "Money", "ColTitle": "1 - 30"},
   {"ColType": "Money", "ColTitle": "31 - 60"},
   {"ColType": "Money", "ColTitle": "61 - 90"},
   {"ColType": "Money", "ColTitle": "91 and over"},
   {"ColType": "Money", "ColTitle": "Total"}]},
 "Rows": {"Row": [
   {"ColData": [{"value": "Acme Ltd", "id": "58"}, {"value": ""}, {"value": "150.00"},
                {"value": ""}, {"value": ""}, {"value": ""}, {"value": "150.00"}]},
   {"type": "Section", "group": "GrandTotal",
    "Summary": {"ColData": [{"value": "TOTAL"}, {"value": "0.00"}, {"value": "150.00"},
                            {"value": "0.00"}, {"value": "0.00"}, {"value": "0.00"}, {"value": "150.00"}]}}]}}"""
