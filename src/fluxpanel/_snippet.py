"""The one builder of reproducing code snippets. A snippet never holds a key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._kinds import KINDS, Naming, in_folder

if TYPE_CHECKING:
    from ._request import GenerationRequest


def client_code(provider: Any = None) -> tuple[str, str]:
    """``(arguments to FluxClient, comment)`` for a provider object or name."""
    if provider is None:
        return "", ""
    if isinstance(provider, str):
        return f"provider={provider!r}", ""
    return provider.client_code()


def request_code(
    request: GenerationRequest,
    provider: Any = None,
    *,
    seed: bool = True,
    inputs: str = "",
    files: Naming | None = None,
) -> str:
    """Python that reproduces ``request`` exactly with fluxpanel (seed included).

    With ``seed=False`` the seed is left out, so each run draws its own: the
    code for settings whose seed is still random. With ``inputs``, input
    images are named by their copies in that folder (an export's); with
    ``files``, as it names them.
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
    if request.inputs and inputs:
        lines.append(f"# Input images are the export's own copies: run this beside {inputs}/.")
    elif request.inputs:
        lines.append(
            "# Input images are named by files that hold their exact bytes (fluxpanel-inputs/ "
            "holds those that came from memory or the browser)."
        )
    if inputs:
        files = in_folder(inputs)
    lines.append("generation = client.generate(")
    lines.append(f"    model={request.model!r},")
    for name, value in request.params.items():
        p = request.spec.params[name]
        if p.random and not seed:
            continue
        lines += KINDS[p.kind].snippet(name, value, files)
    lines.append(")")
    lines.append("generation")
    return "\n".join(lines) + "\n"
