"""A request spelt as its host reads it, from the row's :class:`~fluxpanel._spec.Wire`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._inputs import InputImage

if TYPE_CHECKING:
    from .._request import GenerationRequest


def spell(request: GenerationRequest, image: Callable[[InputImage], Any]) -> dict[str, Any]:
    """The fields of ``request`` as its host names and forms them: each input
    image as ``image`` makes it (base64, a URL), lists spread over numbered
    fields where the host takes no list, what the host never sees left out."""
    wire, params = request.spec.wire, request.spec.params
    body: dict[str, Any] = {}
    for name, value in request.host_params.items():
        if name in wire.omit or value in wire.unset.get(name, ()):
            continue
        if name in wire.empty and value == "":
            continue
        p = params.get(name)  # None: a field a kind wrote in the host's own name
        if isinstance(value, InputImage):
            value = image(value)
        elif p is not None and p.is_image:
            if wire.spread:  # input_image, input_image_2, ...: the list's first is its number
                for i, item in enumerate(value, p.first_number):
                    body[wire.spread + (f"_{i}" if i > 1 else "")] = image(item)
                continue
            value = [image(item) for item in value]
        if name in wire.negate:
            body[wire.negate[name]] = not value
            continue
        body[wire.names.get(name, name)] = str(value) if name in wire.text else value
    body.update(wire.extra)
    return body
