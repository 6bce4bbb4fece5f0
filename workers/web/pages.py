"""The HTML pages' templates, and the answer every page gives to a visitor who is not signed in."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def highlight_facts(body: str, facts: list[str]) -> Markup:
    """The draft as HTML with every ledger fact it cites marked, so an approver sees at a glance which
    figures came from the ledger (anything unmarked that looks like a figure deserves a second look)."""
    text = html.escape(body)
    wanted = sorted({html.escape(f) for f in facts if f and f.strip()}, key=len, reverse=True)
    if wanted:
        pattern = re.compile("|".join(re.escape(f) for f in wanted))
        text = pattern.sub(lambda m: f'<mark class="fact">{m.group(0)}</mark>', text)
    return Markup(text.replace("\n", "<br>"))


TEMPLATES.env.filters["highlight_facts"] = highlight_facts


def signin_needed(request: Request) -> Response:
    return TEMPLATES.TemplateResponse(request, "signin_needed.html", status_code=401)
