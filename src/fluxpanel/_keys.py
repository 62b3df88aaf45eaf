"""Where an API key may go, and what is kept out of every message: one unit,
as httpx keeps ``_redirect_headers`` and ``same_origin`` apart from its
client.

- A key is cleaned once (:func:`clean_key`): surrounding whitespace goes, and
  one an HTTP header cannot carry is refused without being shown.
- It may go to the API's own origin, or over https to a host the provider
  documents for its API (:meth:`KeyRule.may_go`): never down from https to
  http, never to a sibling that merely shares a suffix, never to another port.
- Addresses are shown and stored without their credentials
  (:func:`public_url`), and every form of every secret is scrubbed from
  errors before they leave the engine (:meth:`KeyRule.scrub`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from ._errors import APIError, ConfigError, FluxError

#: Query parameters whose values are credentials (never shown or stored).
SECRET_PARAM = re.compile(r"key|token|secret|sig|password|passwd|auth|credential", re.I)


def clean_key(key: str | None, label: str, env: str | None) -> str:
    """An API key fit for an HTTP header: surrounding whitespace (a key read
    from a file, a ``.env`` with ``\\r``) is dropped; a key with spaces or
    control characters inside is refused with an error that does not show it."""
    where = f"set {env} or pass api_key=" if env else "pass api_key="
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(f"no API key for {label}: {where}")
    key = key.strip()
    if any(not 0x21 <= ord(c) <= 0x7E for c in key):
        raise ConfigError(
            f"the API key for {label} contains a space, a line break or another character "
            f"an HTTP header cannot carry (the key is not shown); check it and {where}"
        )
    return key


def _origin(parts: Any) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def may_send_key(url: str, base: str, key_hosts: re.Pattern[str] | None = None) -> bool:
    """Whether a key for the API at ``base`` may be sent to ``url``.

    Yes for ``base``'s own origin (scheme, host and port); yes over https to a
    host that ``key_hosts`` (the API hosts a provider documents, such as Black
    Forest Labs' regional shards) matches, when ``base`` is one of them too.
    Never from https down to http, never to a sibling that merely shares a
    suffix (``co.uk``), never to another port of an address.
    """
    try:
        parts, home = urlsplit(url), urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or not home.hostname:
            return False
        if home.scheme == "https" and parts.scheme != "https":
            return False
        if _origin(parts) == _origin(home):
            return True
        if key_hosts is None or parts.scheme != "https" or parts.port not in (None, 443):
            return False
        host, home_host = parts.hostname.lower(), home.hostname.lower()
        return bool(key_hosts.fullmatch(host) and key_hosts.fullmatch(home_host))
    except ValueError:  # a port out of range, say
        return False


def public_url(url: str) -> str:
    """``url`` safe to show and store: no user info or fragment, and the values
    of query parameters that look like credentials replaced."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        if parts.port:
            host = f"{host}:{parts.port}"
    except ValueError:
        pass
    query = urlencode(
        [
            (k, "REDACTED" if SECRET_PARAM.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def url_secrets(url: str) -> list[str]:
    """The credentials written into ``url`` (user info, credential-like query
    values), which must never appear in a message."""
    parts = urlsplit(url)
    found = [s for s in (parts.username, parts.password) if s]
    found += [v for k, v in parse_qsl(parts.query) if v and SECRET_PARAM.search(k)]
    return found


def secret_forms(secret: str) -> set[str]:
    """Every form a secret can take in a message: as is, stripped, escaped the
    way ``repr`` and JSON escape it, and percent-encoded."""
    forms = {
        secret,
        secret.strip(),
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        quote(secret, safe=""),
        secret.encode("unicode_escape").decode("ascii"),
    }
    return {f for f in forms if len(f) >= 4}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every form of every secret replaced by ``[redacted]``."""
    forms = sorted({f for s in secrets if s for f in secret_forms(s)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, "[redacted]")
    return text


@dataclass(frozen=True)
class KeyRule:
    """One provider's rule for its key: the API's address ``base``, the API
    hosts the provider documents (``hosts``, a full match of the host name),
    and the ``secrets`` no message may hold (the key, credentials in the
    base URL)."""

    base: str = ""
    hosts: re.Pattern[str] | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)

    def may_go(self, url: str) -> bool:
        """Whether the key may be sent to ``url`` (a URL the API handed back,
        to poll or cancel)."""
        return bool(self.base) and may_send_key(url, self.base, self.hosts)

    def carried_by(self, headers: Mapping[str, str]) -> bool:
        """Whether ``headers`` carry a secret (the key, in any of its forms)."""
        forms = {f for s in self.secrets if s for f in secret_forms(s)}
        return any(form in value for value in headers.values() for form in forms)

    def clean(self, text: str) -> str:
        """``text`` without any form of a secret."""
        secrets = [s for s in self.secrets if s]
        return redact(text, secrets) if secrets else text

    def scrub(self, error: FluxError) -> FluxError:
        """``error`` with every secret taken out of its words and its body."""
        secrets = [s for s in self.secrets if s]
        if not secrets:
            return error

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return redact(value, secrets)
            if isinstance(value, dict):
                return {clean(k): clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        error.args = tuple(clean(a) for a in error.args)
        if isinstance(error, APIError):
            error.body = clean(error.body)
        return error


#: The rule of a provider with no key (the offline preview).
NO_KEY = KeyRule()
