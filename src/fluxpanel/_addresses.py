"""Which addresses fluxpanel fetches from or uploads to: one unit the engine
asks for every image address, every redirect hop and every upload URL a host
hands back.

Only http(s), and only public addresses (every address a name resolves to),
unless the API itself is on this machine or a private network (the loopback
fakes, a gateway): cloud metadata services and admin pages on loopback are
never fetched for a remote API.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._errors import APIError


def is_public_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) is on the public internet, as
    far as can be told without a look-up: addresses are checked; ``localhost``
    and ``*.localhost``/``.local``/``.internal`` names are not public."""
    host = host.strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        pass
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    return True


async def resolves_public(host: str) -> bool:
    """Whether ``host`` and every address it resolves to are public. A name
    that does not resolve cannot be fetched either, so it passes here."""
    if not is_public_host(host):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True  # an address, checked above
    except ValueError:
        pass
    try:
        async with asyncio.timeout(5):
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except (OSError, TimeoutError, UnicodeError):
        return True
    for *_, sockaddr in infos:
        try:
            if not ipaddress.ip_address(str(sockaddr[0]).split("%")[0]).is_global:
                return False
        except ValueError:
            return False
    return True


@dataclass(frozen=True)
class AddressRule:
    """The addresses a provider's answers may send fluxpanel to. ``local``:
    the API itself is on this machine or a private network, so its answers
    may name private addresses too. ``label`` names the provider in errors."""

    label: str
    local: bool = False

    async def check(self, url: str, what: str = "an image address", *, sends: bool = False) -> None:
        """Refuse ``url`` (an :class:`APIError` saying why) unless it is
        http(s) and, for a remote API, on the public internet. An address
        fluxpanel ``sends`` the user's data to must be https there too."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise APIError(
                f"{self.label} gave {what} with scheme {scheme or '(none)'!r}; only http "
                "and https are fetched"
            )
        if self.local:
            return
        if sends and scheme != "https":
            raise APIError(
                f"{self.label} gave {what} over plain http ({parts.hostname}); an image is "
                "only sent over https"
            )
        if not await resolves_public(parts.hostname):
            raise APIError(
                f"{self.label} gave {what} on a private or local network "
                f"({parts.hostname}); fluxpanel only reaches public addresses"
            )
