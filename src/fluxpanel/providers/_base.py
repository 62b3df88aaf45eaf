"""The provider interface: a provider builds requests and reads responses.

A provider never does I/O. The engine asks it for the first :class:`Call`, sends
it (with the engine's retries and timeouts), hands the :class:`Reply` back to
:meth:`Provider.advance`, and repeats until the provider returns
:class:`Outputs`. That shape fits a single POST (the FLUX API), a submit then
poll flow (Black Forest Labs, fal) and a held-open call with a polling fallback
(Replicate) without the engine knowing which one it is driving.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._errors import APIError, ConfigError, FluxError, error_for_status

if TYPE_CHECKING:
    from .._inputs import InputImage
    from .._request import GenerationRequest
    from .._spec import ModelSpec


@dataclass(frozen=True)
class Progress:
    """How far a generation is, as the host says it (or as fluxpanel sees it).

    ``phase`` is ``submitting``, ``queued``, ``running`` or ``downloading``;
    ``fraction`` (0 to 1) when the host reports how far it is; ``position`` in
    the host's queue; ``done`` of ``total`` images downloaded; ``detail`` the
    host's own word for the state (``Reasoning``); ``elapsed`` seconds since
    the generation started; ``expected`` seconds a run of this model usually
    takes here, when known (from this machine's recent runs).
    """

    phase: str
    fraction: float | None = None
    position: int | None = None
    done: int | None = None
    total: int | None = None
    detail: str = ""
    elapsed: float = 0.0
    expected: float | None = None

    def describe(self) -> str:
        """The state in a few words: "Queued, position 3", "Running, 40%"."""
        word = self.detail or self.phase.capitalize()
        if self.phase == "queued" and self.position is not None:
            return f"{word}, position {self.position + 1}"
        if self.phase == "downloading" and self.total:
            return f"Downloading {self.done or 0} of {self.total}"
        if self.fraction is not None:
            return f"{word}, {round(self.fraction * 100)}%"
        return word


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
    #: What the reply that led to this call said of the task's progress.
    progress: Progress | None = None
    #: A raw body (an upload's bytes), instead of ``json``.
    content: bytes | None = field(default=None, repr=False)
    #: A multipart form: ``{name: (filename, bytes, media type)}``.
    files: Mapping[str, Any] | None = field(default=None, repr=False)
    #: A held stream (server-sent events): the body read so far is given to
    #: this as it comes; the engine stops reading when it returns True, and
    #: shows any :class:`Progress` the provider reads from it with
    #: ``watch``.
    until: Callable[[bytes], bool] | None = field(default=None, repr=False)
    watch: Callable[[bytes], Progress | None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Reply:
    """An HTTP response as the engine received it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` for anything that is not (nesting
        too deep for the parser included)."""
        return parse_json(self.body)

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
    #: Images of the batch the host made but withheld (its safety filter).
    withheld: int = 0
    #: The prompt as the host expanded it, when it says (FLUX 3's
    #: ``result.prompt``, with any boxes it added).
    prompt: str = ""


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
    #: Who withholds images of a batch, in words ("Replicate's safety filter").
    withheld_by: str = "the host's moderation"
    #: Whether the host bills an image it withheld.
    bills_withheld: bool = True
    #: Whether the API is on this machine or a private network (the loopback
    #: fakes): only then may result URLs point at non-public addresses.
    local: bool = False

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
        special = self.error_class(reply.status, detail)
        if special is not None:
            cls, advice = special
            return cls(
                f"{message}. {advice}" if advice else message,
                status=reply.status,
                request_id=reply.request_id,
                body=_body_for_error(reply.body),
            )
        return error_for_status(
            reply.status,
            message,
            request_id=reply.request_id,
            body=_body_for_error(reply.body),
            retry_after=retry_after,
        )

    def error_class(self, status: int, detail: str) -> tuple[type[APIError], str] | None:
        """A host's own meaning for an error answer, where its status alone
        misleads (fal's 403 for an exhausted balance): ``(class, advice)``."""
        return None

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

    @property
    def identity(self) -> str:
        """What tells this provider's results apart from another deployment's
        (hashed into cache keys, never shown): the endpoint by default."""
        return self.endpoint

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
    URL (overridable, for the loopback fakes and proxies), snippets that name
    the provider and read the key from the environment, and polling waits
    that grow."""

    #: Where the API is, unless ``base_url`` says otherwise.
    default_url: str = ""
    #: The hosts the host documents for its API (a full match of the host
    #: name): the key may go to these over https, and to the base URL's own
    #: origin, nowhere else.
    key_hosts: re.Pattern[str] | None = None
    #: Seconds before the first poll, growth per poll, and the longest wait:
    #: a quick task is seen done within a quarter of a second, a long one
    #: costs a request every few seconds.
    poll_first, poll_growth, poll_max = 0.25, 1.5, 4.0

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        import os

        key = api_key if api_key is not None else os.environ.get(self.key_env or "")
        self._api_key = clean_key(key, self.label, self.key_env)
        base = (base_url or self.default_url).rstrip("/")
        if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).hostname:
            raise ConfigError(f"base_url={public_url(base)!r} is not an http or https URL")
        self._base = base
        self._base_given = base_url is not None
        self.local = not is_public_host(urlsplit(base).hostname or "")

    @property
    def endpoint(self) -> str:
        return public_url(self._base)

    def secrets(self) -> list[str]:
        return [self._api_key, *url_secrets(self._base)]

    def client_code(self) -> tuple[str, str]:
        args = f"provider={self.name!r}"
        comment = f"The key is read from ${self.key_env}."
        if self._base_given:
            # Name the adapter fluxpanel ships (a subclass may be the user's own).
            cls = next(
                c for c in type(self).__mro__ if c.__module__.startswith("fluxpanel.providers.")
            )
            args = f"provider=fluxpanel.providers.{cls.__name__}(base_url={self.endpoint!r})"
            if url_secrets(self._base):
                comment += " The base URL's credentials are not written here: add them."
        return args, comment

    # -- uploads: input images that go to the host's storage first -------------------

    def needs_upload(self, image: InputImage) -> bool:
        """Whether this input goes to the host's upload endpoint before the
        request (large files), rather than inside it."""
        return False

    def upload(self, image: InputImage) -> Call:
        """The first call that uploads ``image``."""
        raise NotImplementedError

    def uploaded(self, image: InputImage, call: Call, reply: Reply) -> Call | str:
        """After an upload call: the next call, or the URL the host gave the file."""
        raise NotImplementedError

    def submit(self, request: GenerationRequest, uploaded: Mapping[str, str]) -> Call:
        """The call that starts the task, once inputs are uploaded
        (``uploaded`` maps an input's sha256 to its URL at the host)."""
        raise NotImplementedError

    def start(self, request: GenerationRequest) -> Step:
        return self._next_upload(request, {})

    def _next_upload(self, request: GenerationRequest, done: dict[str, str]) -> Call:
        for image in local_inputs(request):
            if image.sha256 not in done and self.needs_upload(image):
                call = self.upload(image)
                state = {"phase": "upload", "image": image, "done": done}
                return replace(call, state=state, progress=Progress("submitting"))
        return self.submit(request, done)

    def upload_step(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | None:
        """The next step if ``call`` was part of an upload, else ``None``."""
        state = call.state
        if not isinstance(state, dict) or state.get("phase") != "upload":
            return None
        image = state["image"]
        step = self.uploaded(image, call, reply)
        if isinstance(step, Call):
            merged = {**state, **step.state} if isinstance(step.state, dict) else state
            return replace(step, state=merged, progress=call.progress)
        return self._next_upload(request, {**state["done"], image.sha256: step})

    def poll_delay(self, n: int) -> float:
        """The wait before the ``n``-th poll (from 0)."""
        return min(self.poll_max, self.poll_first * self.poll_growth**n)

    def on_site(self, url: str) -> bool:
        """Whether the API's key may be sent to ``url`` (a URL the API handed
        back, to poll or cancel): the base URL's own origin, or one of the
        API hosts the host documents, over https. Never a downgrade to http."""
        return may_send_key(url, self._base, self.key_hosts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.endpoint!r})"


def local_inputs(request: GenerationRequest) -> list[InputImage]:
    """The request's input images that are bytes (not URLs), each once."""
    seen: dict[str, InputImage] = {}
    for value in request.inputs.values():
        for image in value if isinstance(value, tuple) else (value,):
            if image.url is None:
                seen.setdefault(image.sha256, image)
    return list(seen.values())


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


#: Query parameters whose values are credentials (never shown or stored).
_SECRET_PARAM = re.compile(r"key|token|secret|sig|password|passwd|auth|credential", re.I)


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
            (k, "REDACTED" if _SECRET_PARAM.search(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ]
    )
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def url_secrets(url: str) -> list[str]:
    """The credentials written into ``url`` (user info, credential-like query
    values), which must never appear in a message."""
    parts = urlsplit(url)
    found = [s for s in (parts.username, parts.password) if s]
    found += [v for k, v in parse_qsl(parts.query) if v and _SECRET_PARAM.search(k)]
    return found


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


def parse_json(body: bytes) -> Any:
    """JSON from ``body``; ``ValueError`` for anything else, including nesting
    deeper than the parser can follow (which raises ``RecursionError``)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None


def error_detail(body: bytes, limit: int = 500) -> str:
    """The human part of an error body: ``detail``/``message``/``error`` or the text."""
    try:
        data = parse_json(body)
    except ValueError:  # UnicodeDecodeError is one
        text = body.decode("utf-8", "replace").strip()
        return text[:limit]
    for key in ("detail", "message", "error", "title"):
        if isinstance(data, dict) and key in data:
            value = data[key]
            if isinstance(value, str):
                return value[:limit]
            if isinstance(value, list):
                # FastAPI style: [{"loc": ["body", "field"], "msg": "..."}]: say the field.
                return "; ".join(_fastapi_message(v) for v in value)[:limit]
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])[:limit]
            return _dumps(value)[:limit]
    return _dumps(data)[:limit] if data else ""


def _fastapi_message(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    loc = item.get("loc")
    field = str(loc[-1]) if isinstance(loc, list) and loc and loc[-1] != "body" else ""
    msg = str(item.get("msg", item))
    return f"{field}: {msg}" if field else msg


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value)
    except (ValueError, TypeError, RecursionError):
        return repr(type(value))


def _body_for_error(body: bytes) -> Any:
    try:
        return parse_json(body)
    except ValueError:
        return body[:2000].decode("utf-8", "replace")
