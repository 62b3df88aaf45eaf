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


#: Values people read otherwise (the hosts' own spellings stay in code).
_SAID = {
    "match_input": "Same as the input",
    "match_input_image": "Same as the input",
    "match_first_image": "Same as image 1",
    "custom": "Custom size",
    "square_hd": "Square HD",
}
_PIXELS = re.compile(r"(\d+)x(\d+)")
_TIER = re.compile(r"(\d+(?:\.\d+)?)k")
_RATIO = re.compile(r"(\d+) (\d+)")


def choice_label(name: str, value: str, sizes: dict[str, tuple[int, int]] | None = None) -> str:
    """A choice as the panel's menu shows it: ``768sq`` as 768 × 768,
    ``1024x768`` as 1024 × 768, ``2k`` as 2K, ``match_input`` as "Same as the
    input", a named size with its pixels (``sizes``), a number of
    ``megapixels`` with its unit, a word capitalised; ratios as they are."""
    if value in _SAID:
        text = _SAID[value]
    elif m := _PIXELS.fullmatch(value):
        return f"{m[1]} × {m[2]}"
    elif value.endswith("sq") and value[:-2].isdigit():
        return f"{value[:-2]} × {value[:-2]}"
    elif m := _TIER.fullmatch(value):
        return f"{m[1]}K"
    elif "megapixels" in name and value.replace(".", "", 1).isdigit():
        return f"{value} MP"
    elif value[:1].isalpha():
        head, _, tail = value.replace("_", " ").partition(" ")
        tail = _RATIO.sub(r"\1:\2", tail)  # landscape_4_3: Landscape 4:3
        text = f"{head.capitalize()} {tail}".strip()
    else:
        return value
    if sizes and value in sizes:
        w, h = sizes[value]
        text += f" ({w} × {h})"
    return text
