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


def request_code(request: GenerationRequest, provider: Any = None) -> str:
    """Python that reproduces ``request`` exactly with fluxpanel (seed included)."""
    args, comment = client_code(provider)
    lines = ["import fluxpanel", ""]
    if comment:
        lines.append(f"# {comment}")
    lines.append(f"client = fluxpanel.FluxClient({args})")
    lines.append("generation = client.generate(")
    for name, value in request.to_payload().items():
        lines.append(f"    {name}={value!r},")
    lines.append(")")
    lines.append("generation")
    return "\n".join(lines) + "\n"
