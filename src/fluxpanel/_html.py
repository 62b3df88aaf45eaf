"""Static HTML, self-contained, for places with no kernel: saved notebooks,
nbconvert exports, GitHub. Every piece of text is escaped."""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Mapping
from typing import Any


def data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def figure(src: str, alt: str, caption: str, width: int) -> str:
    return (
        f'<figure style="margin:0;max-width:{width}px">'
        f'<img src="{html.escape(src)}" alt="{html.escape(alt[:200])}" '
        'style="width:100%;height:auto;border-radius:4px;display:block"/>'
        f'<figcaption style="font-size:12px;opacity:.75">{html.escape(caption)}</figcaption>'
        "</figure>"
    )


def failed(message: str, width: int) -> str:
    return (
        f'<div style="max-width:{width}px;padding:8px;border:1px dashed #c33;'
        f'font-size:12px">failed: {html.escape(message)}</div>'
    )


def notes(texts: Iterable[str]) -> str:
    """What a person should know about a result, as short paragraphs."""
    return "".join(f'<p style="font-size:12px;margin:4px 0">{html.escape(t)}</p>' for t in texts)


def grid(cells: Iterable[str]) -> str:
    return f'<div style="display:flex;flex-wrap:wrap;gap:8px">{"".join(cells)}</div>'


def params_table(payload: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:8px'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left;white-space:pre-wrap'>{html.escape(str(v))}</td></tr>"
        for k, v in payload.items()
    )
    return f"<table>{rows}</table>"


def code_block(code: str) -> str:
    return (
        '<pre style="background:rgba(127,127,127,.12);padding:8px;border-radius:4px;'
        f'overflow-x:auto"><code style="background:none">{html.escape(code)}</code></pre>'
    )


def text(value: str) -> str:
    return html.escape(value)
