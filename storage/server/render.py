"""Tiny HTML rendering: ``string.Template`` files under ``templates/`` plus escaping helpers.

Every value put into a template is escaped by the caller with :func:`e` (or is HTML built from escaped
parts); templates never see raw user input.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

__all__ = ["e", "render", "render_page"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


def e(value: Any) -> str:
    """HTML-escape ``value`` (``None`` becomes the empty string)."""
    return "" if value is None else html.escape(str(value), quote=True)


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: str) -> str:
    """Fill template ``name`` with already-escaped ``values``."""
    return _template(name).substitute(values)


def render_page(title: str, body: str, *, user: str | None = None, csrf: str = "", nav: str = "") -> str:
    """A whole page: the layout around ``body``."""
    if user:
        account = (
            f'<span class="who">{e(user)}</span>'
            f'<form method="post" action="/logout" class="inline">'
            f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
            f'<button type="submit" class="link">Log out</button></form>'
        )
    else:
        account = ""
    return render("base.html", title=e(title), body=body, account=account, csrf=e(csrf), nav=nav)
