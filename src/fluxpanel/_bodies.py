"""How many bytes may arrive, and how they are decoded: one unit the engine
asks for every answer, as httpx keeps its decoders apart from its client.

A body is read as it came off the wire and inflated here with a bound on the
output, so no encoding (stacked gzip included) can make it larger in memory
than its cap; only the encodings read here are asked for.
"""

from __future__ import annotations

import zlib
from collections.abc import Awaitable, Callable

import httpx

from ._errors import FluxError
from ._flow import Reply

#: Largest image accepted, and largest API answer read.
DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_API_BYTES = 8 * 1024 * 1024
#: Content encodings inflated here, with a bound on the output.
ENCODINGS = {"gzip", "x-gzip", "deflate"}
#: What the API client asks for; images are compressed already, so a download asks for none.
API_ENCODINGS = "gzip, deflate"
IMAGE_ENCODINGS = "identity"


class Inflater:
    """One content coding undone with a bound on what it may produce."""

    def __init__(self, wbits: int, raw_fallback: bool, error: type[FluxError]) -> None:
        self._z = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False
        self._error = error

    @classmethod
    def for_encoding(cls, header: str | None, error: type[FluxError]) -> Inflater | None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return None
        if len(codings) > 1:
            raise error(
                f"the server encoded its answer {len(codings)} times ({', '.join(codings)}); "
                "fluxpanel refuses stacked encodings"
            )
        if codings[0] not in ENCODINGS:
            raise error(f"the server sent an encoding fluxpanel does not read ({codings[0]})")
        if codings[0] == "deflate":
            return cls(zlib.MAX_WBITS, True, error)
        return cls(16 + zlib.MAX_WBITS, False, error)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` bytes of output for ``data``: producing ``limit``
        means the body is over its cap."""
        try:
            try:
                out = self._z.decompress(data, max(limit, 1))
            except zlib.error:
                if not (self._raw_fallback and not self._started):
                    raise
                # "deflate" sent as a raw stream, as some servers do.
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, max(limit, 1))
        except zlib.error as e:
            raise self._error(f"the answer could not be decoded: {e}") from None
        self._started = True
        return out

    def end(self) -> bytes:
        """What is left once the body has ended (input all consumed: small)."""
        try:
            return self._z.flush(64 * 1024)
        except zlib.error as e:
            raise self._error(f"the answer could not be decoded: {e}") from None


#: Called with the body so far; True when enough has come (a held stream).
Enough = Callable[[bytes], Awaitable[bool]]


async def read_body(
    client: httpx.AsyncClient,
    request: httpx.Request,
    cap: int,
    error: type[FluxError],
    until: Enough | None = None,
) -> Reply:
    """Send ``request`` and read at most ``cap`` bytes of the body, decoded.

    ``error`` is raised when the body would be larger than ``cap``. A held
    stream is read only ``until`` the body so far says enough. An answer whose
    body is already in memory (httpx's ``MockTransport``, respx) is taken as
    it is, checked against the same cap.
    """
    response = await client.send(request, stream=True)
    try:
        length = response.headers.get("content-length")
        if response.status_code < 400 and length and length.isdigit() and int(length) > cap:
            raise error(f"the response is {int(length)} bytes, over the {cap}-byte limit")
        if response.is_stream_consumed:  # read already, and decoded, by the transport
            body = response.content
            if len(body) > cap:
                raise error(f"the response is over the {cap}-byte limit")
            return Reply(response.status_code, response.headers, body)
        body = await _stream(response, cap, error, until)
    finally:
        await response.aclose()
    return Reply(response.status_code, response.headers, body)


async def _stream(
    response: httpx.Response, cap: int, error: type[FluxError], until: Enough | None
) -> bytes:
    inflater = Inflater.for_encoding(response.headers.get("content-encoding"), error)
    chunks, size = [], 0
    async for raw in response.aiter_raw():
        chunk = inflater.feed(raw, cap - size + 1) if inflater else raw
        size += len(chunk)
        if size > cap:
            raise error(f"the response is over the {cap}-byte limit")
        chunks.append(chunk)
        if until is not None and response.status_code < 400 and chunk:
            if await until(b"".join(chunks)):
                return b"".join(chunks)
    if inflater:
        chunks.append(inflater.end())
    return b"".join(chunks)
