"""The provider interface: a provider builds requests and reads responses.

A provider never does I/O. The engine asks it for the first :class:`Call`, sends
it (with the engine's retries and timeouts), hands the :class:`Reply` back to
:meth:`Provider.advance`, and repeats until the provider returns
:class:`Outputs`. That shape fits a single POST (the FLUX API), a submit then
poll flow (Black Forest Labs, fal) and a held-open call with a polling fallback
(Replicate) without the engine knowing which one it is driving.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._errors import APIError, FluxError, error_for_status

if TYPE_CHECKING:
    from .._request import GenerationRequest
    from .._spec import ModelSpec


@dataclass(frozen=True)
class Call:
    """One HTTP request a provider wants sent.

    ``billable`` marks a call that may cost money: the engine retries it only
    when the server provably never saw it (connect errors) or said so (429).
    ``delay`` is a wait before sending (polling intervals). ``task`` names the
    provider's task, for messages when a deadline passes.
    """

    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    billable: bool = False
    delay: float = 0.0
    task: str | None = None
    state: Any = None


@dataclass(frozen=True)
class Reply:
    """An HTTP response as the engine received it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def request_id(self) -> str | None:
        for name in ("x-request-id", "request-id", "x-fal-request-id"):
            if name in self.headers:
                return self.headers[name]
        return None


@dataclass(frozen=True)
class Outputs:
    """Where a provider's images are: URLs to download, and their seeds when
    the provider says (otherwise the request's)."""

    urls: Sequence[str] = ()
    seeds: Sequence[int] | None = None
    #: Tasks of the request that failed (the others' images are kept).
    errors: Sequence[FluxError] = ()


Step = Call | Outputs


class Provider:
    """Base class of providers. Subclasses set the class attributes and override
    :meth:`start` and :meth:`advance` (or :meth:`render` when ``offline``)."""

    #: Short name used in snippets and ``FluxClient(provider=...)``.
    name: str = ""
    #: Name shown to people.
    label: str = ""
    #: Environment variable that holds the key, if the provider needs one.
    key_env: str | None = None
    #: The capability table requests are validated against.
    models: Mapping[str, ModelSpec] = {}
    #: True for providers that make images locally and need no network.
    offline: bool = False
    #: Most tasks this provider lets one account run at once (shared by every
    #: call of a client), or None for no limit.
    max_active: int | None = None
    #: Said when the user cancels, if cancelling cannot stop the billing.
    cancel_note: str = ""

    # -- the flow ------------------------------------------------------------------

    def tasks(self, request: GenerationRequest) -> list[GenerationRequest]:
        """The provider tasks a request needs: one by default. Providers that
        make one image per task return one request per image (each with its
        own seed), and the engine runs them in parallel."""
        return [request]

    def start(self, request: GenerationRequest) -> Step:
        raise NotImplementedError

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Step:
        raise NotImplementedError

    def render(self, request: GenerationRequest, index: int) -> bytes:
        """Make image ``index`` locally (offline providers only)."""
        raise NotImplementedError

    def cancel(self, call: Call) -> Call | None:
        """A call that cancels the task ``call`` belongs to, if the API has one."""
        return None

    # -- errors --------------------------------------------------------------------

    def error(self, call: Call, reply: Reply, retry_after: float | None = None) -> FluxError:
        """The error for a reply with an error status."""
        detail = error_detail(reply.body)
        what = f"{self.label} answered {reply.status}"
        message = f"{what}: {detail}" if detail else what
        if reply.request_id:
            message += f" (request id {reply.request_id})"
        return error_for_status(
            reply.status,
            message,
            request_id=reply.request_id,
            body=_body_for_error(reply.body),
            retry_after=retry_after,
        )

    def json_object(self, reply: Reply) -> dict[str, Any]:
        """The reply's body as a JSON object, or a clear error saying why not."""
        try:
            data = reply.json()
        except ValueError:
            raise self.unreadable(reply, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise self.unreadable(reply, "expected a JSON object")
        return data

    def unreadable(self, reply: Reply, why: str) -> APIError:
        return APIError(
            f"{self.label} sent a response fluxpanel cannot read: {why}",
            status=reply.status,
            request_id=reply.request_id,
            body=_body_for_error(reply.body),
        )

    # -- identity --------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """Where requests go, without credentials (for caches and manifests)."""
        return ""

    def secrets(self) -> list[str]:
        """Strings that must never appear in messages (the key)."""
        return []

    def client_code(self) -> tuple[str, str]:
        """``(FluxClient arguments, comment)`` for snippets. Never the key."""
        return f"provider={self.name!r}", ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class HostedProvider(Provider):
    """Base of the adapters for hosted APIs: a key from the environment, a base
    URL (overridable, for the loopback fakes), snippets that name the provider
    and read the key from the environment, and polling waits that grow."""

    #: Where the API is, unless ``base_url`` says otherwise.
    default_url: str = ""
    #: Seconds before the first poll, growth per poll, and the longest wait.
    poll_first, poll_growth, poll_max = 0.5, 1.5, 5.0

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        import os

        from .._errors import ConfigError

        key = api_key if api_key is not None else os.environ.get(self.key_env or "")
        if not key:
            raise ConfigError(f"no API key for {self.label}: set {self.key_env} or pass api_key=")
        self._api_key = key
        self._base = (base_url or self.default_url).rstrip("/")
        self._base_given = base_url is not None

    @property
    def endpoint(self) -> str:
        return self._base

    def secrets(self) -> list[str]:
        return [self._api_key]

    def client_code(self) -> tuple[str, str]:
        args = f"provider={self.name!r}"
        if self._base_given:
            # Name the adapter fluxpanel ships (a subclass may be the user's own).
            cls = next(
                c for c in type(self).__mro__ if c.__module__.startswith("fluxpanel.providers.")
            )
            args = f"provider=fluxpanel.providers.{cls.__name__}(base_url={self._base!r})"
        return args, f"The key is read from ${self.key_env}."

    def poll_delay(self, n: int) -> float:
        """The wait before the ``n``-th poll (from 0)."""
        return min(self.poll_max, self.poll_first * self.poll_growth**n)

    def on_site(self, url: str) -> bool:
        """Whether the API's key may be sent to ``url``."""
        return same_site(url, self._base)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base!r})"


def same_site(url: str, base: str) -> bool:
    """Whether ``url`` (a URL an API handed back, to poll) is on ``base``'s
    host or a sibling host of its domain: the only places the key may go."""
    parts, home_parts = urlsplit(url), urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or not home_parts.hostname:
        return False
    host, home = parts.hostname, home_parts.hostname
    site = home.split(".", 1)[1] if home.count(".") >= 2 else home
    return host == home or host == site or host.endswith("." + site)


def error_detail(body: bytes, limit: int = 500) -> str:
    """The human part of an error body: ``detail``/``message``/``error`` or the text."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        text = body.decode("utf-8", "replace").strip()
        return text[:limit]
    for key in ("detail", "message", "error", "title"):
        if isinstance(data, dict) and key in data:
            value = data[key]
            if isinstance(value, str):
                return value[:limit]
            if isinstance(value, list):
                # FastAPI style: [{"loc": [...], "msg": "..."}]
                msgs = [str(v.get("msg", v)) if isinstance(v, dict) else str(v) for v in value]
                return "; ".join(msgs)[:limit]
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])[:limit]
            return json.dumps(value)[:limit]
    return json.dumps(data)[:limit] if data else ""


def _body_for_error(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return body[:2000].decode("utf-8", "replace")
