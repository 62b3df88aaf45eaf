"""A check's words for people: what the panel says beside a field, from the
precise text the error keeps for code (see :meth:`fluxpanel._kinds.Kind.say`)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._errors import ValidationError
    from ._spec import ModelSpec


def reason(error: ValidationError) -> str:
    """Why ``error`` refused a value, without what is allowed, the field's
    name before it, or the name of a Python exception after it."""
    text = str(error).split("; allowed:")[0]
    text = re.sub(r"; allowed for [^:]+: ", "; use ", text).replace("=True", " turned on")
    if error.model and f" for {error.model}: " in text:
        text = text.split(f" for {error.model}: ", 1)[1]
    if error.field and text.startswith(f"{error.field}"):
        text = re.sub(r"^[\w.\[\]]+: ", "", text)  # "image: big.png is ..."
        text = re.sub(r"^[\w.\[\]]+=\S+ (?=is |has )", "", text)  # "steps=80 is ..."
    return re.sub(r" \([A-Z]\w*(Error|Exception)\)$", "", text)


def in_words(spec: ModelSpec, text: str) -> str:
    """``text`` with the model's parameter names given as their labels."""
    for name, q in spec.params.items():
        text = re.sub(rf"\b{re.escape(name)}\b", q.label, text)
    return text.replace(spec.id, spec.label)
