"""Text from the LLM, from news or from a remote provider is data: shown, never rendered.

Streamlit renders Markdown in `st.write`, `st.markdown`, captions, alerts, toasts and `help=`
tooltips, so a reasoning of `![x](http://host/track.png)` would make the browser fetch that URL,
and a bare `http://…` would become a link. Two ways out, both used by every page:

- `block(text)`: a whole passage as `st.text` (no Markdown, no HTML at all);
- `md(text)`: a fragment to embed in our own Markdown, as an inline code span. Code spans are
  the one Markdown construct whose content is never parsed further: no images, links, HTML,
  autolinked URLs, emoji or colour directives. Backslash-escaping cannot promise that (the
  autolink transform runs after escapes are resolved).
"""

from __future__ import annotations

import re

import streamlit as st

MAX_INLINE = 600  # a message longer than this is cut; the full text is in the log or the table
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_SPACE = re.compile(r"\s+")
_TICKS = re.compile(r"`+")


def clean(text: object) -> str:
    """Printable text on one line: control characters dropped, runs of whitespace one space."""
    return _SPACE.sub(" ", _CONTROL.sub("", "" if text is None else str(text))).strip()


def md(text: object, limit: int = MAX_INLINE) -> str:
    """`text` as an inline code span that shows exactly its characters, whatever they are."""
    value = clean(text)
    if not value:
        return "—"
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    longest = max((len(run) for run in _TICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {value} {fence}"  # one space each side is stripped by the renderer


def error(exc: object, limit: int = MAX_INLINE) -> str:
    """An exception's message for an alert or a toast; it may quote an LLM reply or a provider.

    Our messages quote commands and names in backticks (`python -m core db upgrade`): each quoted
    part becomes its own code span and the backticks themselves are not shown. Every part stays
    inside a code span, so nothing in the message is ever rendered."""
    value = clean(exc)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    parts = [part.strip() for part in _TICKS.split(value) if part.strip()]
    return " ".join(md(part) for part in parts) if parts else "—"


def block(text: object, empty: str = "—") -> None:
    """A passage (reasoning, a raw reply) as plain text: no Markdown, no HTML."""
    value = _CONTROL.sub("", "" if text is None else str(text)).strip()
    st.text(value or empty)
