"""LoRAs and finetunes: weights a host loads on top of a model, each at a scale.

A host takes them in its own form (:class:`~fluxpanel._spec.Wire` ``pairs``,
or a list of ``{"path", "scale"}`` as fal reads it); fluxpanel keeps them as
data (:class:`Lora`) everywhere a request goes (its identity, snippets,
image metadata, history, exports) and writes the host's form only on the way
to it.

Where the weights come from decides what fluxpanel can promise. The host
fetches a LoRA given by URL or by a Hugging Face or Replicate name itself:
fluxpanel never reads those bytes, so the same request may give another
image once the file behind the name changes (the request's identity is the
name, not the weights). A finetune id names weights kept by the host.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationError
from ._keys import public_url, url_secrets

#: The longest source read (a signed URL is long; a prompt's worth is plenty).
MAX_SOURCE = 2048
#: The most entries read where a row gives no count.
MAX_LORAS = 16
#: A name a host resolves: ``owner/model`` or ``owner/model/version`` (Hugging
#: Face repos, Replicate models), matched whole.
REFERENCE = re.compile(r"[A-Za-z0-9][\w.-]*(?:/[\w.-]+){1,2}")
#: A host's finetune id: "lowercase letters, digits, hyphens, and
#: underscores", or ``org-id/name`` for one shared by another organisation
#: (Black Forest Labs' API reference, ``finetune_id``).
FINETUNE = re.compile(r"[A-Za-z0-9][\w-]*(?:/[\w.-]+)?")
SOURCES = "an https URL of .safetensors weights, or a name such as 'owner/lora'"
FINETUNES = "a finetune id such as 'my-finetune' (or 'org-id/name')"


@dataclass(frozen=True)
class Lora:
    """One LoRA (or finetune) and how strongly it applies.

    ``source`` is an https URL of the weights, a Hugging Face or Replicate
    name (``"owner/lora"``), or, for a finetune, the host's id for it;
    ``scale`` is its strength (``None``: the host's default, filled in when
    a request is made).
    """

    source: str
    scale: float | None = None

    def to_json(self) -> dict[str, Any]:
        """As requests' JSON stores it: an address's credentials left out."""
        return {"source": shown(self.source), "scale": self.scale}

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Lora:
        source = row.get("source", row.get("path"))
        return cls(source, row.get("scale"))  # type: ignore[arg-type]

    @property
    def label(self) -> str:
        """Short, for a comparison's labels: the file or name, and the scale."""
        name = shown(self.source).split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        return name if self.scale is None else f"{name} at {self.scale:g}"

    def __repr__(self) -> str:
        scale = "" if self.scale is None else f", scale={self.scale:g}"
        return f"Lora({shown(self.source)!r}{scale})"


def shown(source: str) -> str:
    """``source`` as it may be stored and shown: no credentials."""
    if isinstance(source, str) and source.startswith(("https://", "http://")):
        return public_url(source) if url_secrets(source) else source
    return source


def labelled(value: Any) -> str | None:
    """LoRAs as a short label ("fox at 0.8 + paper-cut at 1"), or ``None`` when
    ``value`` is not a list of them."""
    if not isinstance(value, (list, tuple)):
        return None
    labels = [getattr(v, "label", None) for v in value]
    if not all(isinstance(label, str) for label in labels):
        return None
    return " + ".join(labels) or "none"


def entries(value: Any) -> list[Lora]:
    """The entries ``value`` gives, unchecked: one source, one :class:`Lora`,
    a ``{"source", "scale"}`` row, a ``(source, scale)`` pair, or a list of
    these; ``ValidationError`` for anything else."""
    if value is None:
        return []
    if isinstance(value, (str, Lora, Mapping)):
        value = [value]
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], numbers.Real):
        if isinstance(value[0], str) and not isinstance(value[1], bool):
            value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValidationError(f"expected a list of LoRAs, got {type(value).__name__}")
    if len(value) > MAX_LORAS:
        raise ValidationError(f"{len(value)} LoRAs, more than the {MAX_LORAS} read")
    out = []
    for i, item in enumerate(value, 1):
        if isinstance(item, Lora):
            out.append(item)
        elif isinstance(item, str):
            out.append(Lora(item))
        elif isinstance(item, Mapping):
            out.append(Lora.from_json(item))
        elif isinstance(item, (list, tuple)) and len(item) == 2:
            out.append(Lora(item[0], item[1]))
        else:
            raise ValidationError(
                f"LoRA {i} is {type(item).__name__}; give a source, a (source, scale) "
                "pair or a fluxpanel.Lora"
            )
    return out


def source_problem(source: Any, finetune: bool) -> str:
    """What is wrong with ``source`` (empty when nothing is)."""
    if not isinstance(source, str):
        return f"its source is {type(source).__name__}, not text"
    if not source.strip():
        return "it has no source"
    if len(source) > MAX_SOURCE:
        return f"its source has {len(source):,} characters, more than {MAX_SOURCE:,}"
    if source != source.strip() or any(c.isspace() or ord(c) < 32 for c in source):
        return f"its source {shown(source)!r} has spaces or line breaks"
    if finetune:
        return "" if FINETUNE.fullmatch(source) else f"{source!r} is not a finetune id"
    if source.startswith("https://"):
        return ""
    if source.startswith("http://"):
        return f"{shown(source)!r} is not https: the host fetches it, so give an https address"
    if REFERENCE.fullmatch(source) and not source.startswith((".", "~")):
        return ""
    return f"{shown(source)!r} is neither an https URL nor a name such as 'owner/lora'"


def scale_problem(scale: Any, low: float, high: float, word: str = "scale") -> str:
    """What is wrong with ``scale`` (empty when nothing is); ``word`` is what
    the host calls it (a finetune's strength)."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        return f"its {word} is {type(scale).__name__}, not a number"
    if not math.isfinite(scale):
        return f"its {word} is not a finite number"
    if not low <= scale <= high:
        return f"its {word} {scale:g} is outside {low:g} to {high:g}"
    return ""


__all__ = ["FINETUNES", "MAX_LORAS", "SOURCES", "Lora", "entries", "labelled", "shown"]
