"""Which format a statement file is in, from its first bytes (never from its name: banks and people rename
files, and `.txt`, `.dat`, `.sta` and `.xml` each cover several formats).

- CAMT.053: XML whose root `Document` is in an `urn:iso:std:iso:20022:tech:xsd:camt.…` namespace (the reader
  refuses a camt.052 or camt.054 by name);
- OFX: a 1.x `OFXHEADER:` header, a 2.x `<?OFX …?>` processing instruction, or an `<OFX>` root;
- BAI2: a first record `01,` (the file header);
- MT940: a SWIFT `{1:` block header, or `:20:` followed by `:25:` and a `:60F:`/`:60M:` balance;
- PAYMENTS.csv: a first line naming the columns `payment_id` and `amount`.
"""

from __future__ import annotations

import re
from typing import Literal

from adapters.bank_files.statement import BankFormat

FileFormat = BankFormat | Literal["csv"]

_PEEK = 8192
_CAMT = re.compile(rb"<(?:\w+:)?Document\b[^>]*urn:iso:std:iso:20022:tech:xsd:camt\.", re.DOTALL)
_OFX_XML = re.compile(rb"<\?OFX\b|<OFX>", re.IGNORECASE)
_MT940_TAGS = re.compile(rb"^:20:.*?^:25P?:.*?^:60[FM]:", re.DOTALL | re.MULTILINE)


def detect_format(data: bytes) -> FileFormat | None:
    """The format of a file whose first bytes are `data`, or None when it is none of the five."""
    head = data[:_PEEK].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"OFXHEADER:"):
        return "ofx"
    if head.startswith(b"<"):
        # any ISO 20022 cash-management message: the CAMT reader names what it is when it is not camt.053
        if _CAMT.search(head):
            return "camt.053"
        return "ofx" if _OFX_XML.search(head) else None
    if head.startswith(b"01,"):
        return "bai2"
    if head.startswith(b"{1:") or _MT940_TAGS.search(head.replace(b"\r\n", b"\n")):
        return "mt940"
    first_line = head.split(b"\n", 1)[0].lower()
    columns = {column.strip().strip(b'"') for column in first_line.split(b",")}
    if b"payment_id" in columns and b"amount" in columns:
        return "csv"
    return None
