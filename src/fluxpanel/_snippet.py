"""The one builder of reproducing code snippets. A snippet never holds a key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._request import GenerationRequest


def client_code(provider: Any = None) -> tuple[str, str]:
    """``(arguments to FluxClient, comment)`` for a provider object or name."""
    if provider is None:
        return "", ""
    if isinstance(provider, str):
        return f"provider={provider!r}", ""
    return provider.client_code()


def request_code(request: GenerationRequest, provider: Any = None, *, seed: bool = True) -> str:
    """Python that reproduces ``request`` exactly with fluxpanel (seed included).

    With ``seed=False`` the seed is left out, so each run draws its own: the
    code for settings whose seed is still random.
    """
    args, comment = client_code(provider)
    lines = ["import fluxpanel", ""]
    if comment:
        lines.append(f"# {comment}")
    for caveat in request.caveats:
        lines.append(f"# Note: {caveat}")
    lines.append(f"client = fluxpanel.FluxClient({args})")
    if not seed:
        lines.append(
            "# The seed is drawn at random each run; fix it in the panel to reproduce an image."
        )
    inputs = request.inputs
    if inputs:
        lines.append(
            "# Input images are named by files that hold their exact bytes (fluxpanel-inputs/ "
            "holds those that came from memory or the browser)."
        )
    lines.append("generation = client.generate(")
    for name, value in {"model": request.model, **request.params}.items():
        if name in inputs:
            code, notes = _input_code(value)
            lines += [f"    # {note}" for note in notes]
            lines.append(f"    {name}={code},")
        elif name == "boxes":
            if value:  # each element's place, as data (written into the prompt when sent)
                lines.append("    boxes=[")
                lines += [f"        fluxpanel.{box!r}," for box in value]
                lines.append("    ],")
        elif name != "seed" or seed:
            lines.append(f"    {name}={value!r},")
    lines.append(")")
    lines.append("generation")
    return "\n".join(lines) + "\n"


def _input_code(value: Any) -> tuple[str, list[str]]:
    """An input image as a snippet names it: a file holding its bytes (written
    by content when it came from memory), or its URL; and notes on any that
    could not be written."""
    images = value if isinstance(value, tuple) else (value,)
    names, notes = [], []
    for image in images:
        try:
            names.append(repr(image.file()))
        except OSError as e:  # best effort: a read-only folder still gets a snippet
            names.append("None")
            notes.append(f"{image!r} could not be written ({e.strerror or e}): pass it here")
    return (f"[{', '.join(names)}]" if isinstance(value, tuple) else names[0]), notes
