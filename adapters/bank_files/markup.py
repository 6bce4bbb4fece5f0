"""Statement files as trees of elements that remember their line: XML (CAMT.053) and OFX's SGML.

XML goes through the stdlib's expat behind defusedxml, which refuses a DTD, entity declarations and external
references: a statement needs none of them, and they are how XML bombs and external-entity attacks work.
OFX 1.x is SGML whose leaf elements need no end tag (`<TRNAMT>12.50` ends where the next tag starts); OFX 2.x is
XML; `parse_ofx_markup` reads both with one small tokenizer that expands only the character references
(`&amp;`, `&#233;`), never a declared entity, and refuses a DOCTYPE.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from adapters.bank_files.statement import BankFileError


@dataclass(slots=True)
class Node:
    """An element with the line it starts on; children in document order."""

    tag: str
    line: int
    attrib: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def find(self, *path: str) -> Node | None:
        node: Node | None = self
        for name in path:
            node = next((c for c in node.children if c.tag == name), None) if node is not None else None
        return node

    def findall(self, name: str) -> list[Node]:
        return [c for c in self.children if c.tag == name]

    def value(self, *path: str) -> str:
        node = self.find(*path)
        return node.text if node is not None else ""


class _LineTreeBuilder:
    """The parser's target: builds `Node`s, stamping each with the expat parser's current line."""

    def __init__(self) -> None:
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.parser: Any = None  # the DefusedXMLParser feeding us; `.parser` is its expat parser

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        node = Node(tag=tag, line=self.parser.parser.CurrentLineNumber, attrib=dict(attrib))
        if self.stack:
            self.stack[-1].children.append(node)
        else:
            self.root = node
        self.stack.append(node)

    def end(self, tag: str) -> None:
        self.stack.pop()

    def data(self, text: str) -> None:
        if self.stack:
            self.stack[-1].parts.append(text)

    def close(self) -> Node | None:
        return self.root


def _local(node: Node) -> Node:
    """The tree with namespaces dropped from tags (camt versions differ only in the namespace URI)."""
    node.tag = node.tag.rsplit("}", 1)[-1]
    for child in node.children:
        _local(child)
    return node


def parse_xml(data: bytes, path: str) -> tuple[Node, str]:
    """The document's root (namespaces dropped) and its namespace; BankFileError when it is not safe XML."""
    builder = _LineTreeBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
        root = parser.close()
    except ParseError as exc:
        line = exc.position[0] if exc.position else None
        raise BankFileError(path, line, "XML", f"not well-formed XML: {exc}") from None
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise BankFileError(path, 1, "encoding", f"{exc}") from None
    except DefusedXmlException as exc:
        raise BankFileError(
            path, parser.parser.CurrentLineNumber, "DOCTYPE",
            f"refused: {exc} (a statement needs no DTD or entities; they are how XML bombs and external "
            "entity attacks work)",
        ) from None
    if not isinstance(root, Node):
        raise BankFileError(path, 1, "XML", "the document is empty")
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    return _local(root), namespace


_TOKEN = re.compile(
    r"<!--.*?-->|<\?.*?\?>|<!\[CDATA\[(?P<cdata>.*?)\]\]>|<!(?P<declaration>[^>]*)>"
    r"|<(?P<close>/)?(?P<tag>[A-Za-z][A-Za-z0-9._]*)\s*(?P<empty>/)?>|(?P<text>[^<]+)|(?P<stray><)",
    re.DOTALL,
)
_REFERENCE = re.compile(r"&(?:#(\d+)|#x([0-9A-Fa-f]+)|(amp|lt|gt|quot|apos|nbsp));")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " "}


def _characters(text: str) -> str:
    def one(found: re.Match[str]) -> str:
        decimal, hexadecimal, name = found.groups()
        if name:
            return _NAMED[name]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        return chr(code) if code <= 0x10FFFF else found.group()  # not a character: left as written

    return _REFERENCE.sub(one, text)


def _tokens(text: str, first_line: int) -> Iterator[tuple[int, re.Match[str]]]:
    line, position = first_line, 0
    for found in _TOKEN.finditer(text):
        line += text.count("\n", position, found.start())
        position = found.start()
        yield line, found


def parse_ofx_markup(text: str, path: str, first_line: int, aggregates: frozenset[str]) -> Node:
    """The element tree of an OFX body (SGML or XML). `aggregates` names the elements that must be closed
    explicitly; any other element left open is a leaf whose value ended at the next tag (an empty one that
    swallowed the elements after it gives them back to its parent)."""
    root = Node(tag="#document", line=first_line, attrib={})
    stack = [root]
    for line, token in _tokens(text, first_line):
        if token.group("declaration") is not None:
            raise BankFileError(path, line, "DOCTYPE", f"<!{token.group('declaration')[:30]}>: OFX needs no "
                                "declarations, and they are how XML bombs and external-entity attacks work")
        if token.group("stray") is not None:
            raise BankFileError(path, line, "markup", "a '<' that does not start a tag")
        if token.group("text") is not None or token.group("cdata") is not None:
            raw = token.group("cdata") if token.group("cdata") is not None else _characters(token.group("text"))
            if raw.strip():
                if len(stack) == 1:
                    raise BankFileError(path, line, "markup", f"text {raw.strip()[:30]!r} outside the <OFX> element")
                stack[-1].parts.append(raw)
            continue
        tag = token.group("tag")
        if tag is None:
            continue  # a comment or a processing instruction
        tag = tag.upper()
        if token.group("close"):
            _close(stack, tag, path, line, aggregates)
            continue
        while len(stack) > 1 and stack[-1].text:
            stack.pop()  # a leaf with a value ends where the next tag starts
        node = Node(tag=tag, line=line, attrib={})
        stack[-1].children.append(node)
        if not token.group("empty"):
            stack.append(node)
    _close(stack, "#document", path, None, aggregates)
    return root


def _close(stack: list[Node], tag: str, path: str, line: int | None, aggregates: frozenset[str]) -> None:
    if tag != "#document" and not any(node.tag == tag for node in stack[1:]):
        raise BankFileError(path, line, f"</{tag}>", "closes an element that is not open")
    while stack[-1].tag != tag:
        node = stack.pop()
        if node.tag in aggregates:
            before = f"</{tag}> at line {line}" if line is not None else "the end of the file"
            raise BankFileError(path, node.line, f"<{node.tag}>", f"is never closed (no </{node.tag}> before {before})")
        if node.children and not node.text:
            # an empty leaf (`<MEMO>` with no value): the elements after it are its parent's
            stack[-1].children.extend(node.children)
            node.children = []
    if tag != "#document":
        stack.pop()
