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
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._addresses import AddressRule, is_public_host
from .._errors import APIError, ConfigError, FluxError, ModelNotServedError, error_for_status
from .._flow import Call, Outputs, Progress, Reply, Step, TaskRef, parse_json
from .._keys import NO_KEY, KeyRule, clean_key, public_url, url_secrets
from .._limits import HostLimits
from .._retry import parse_retry_after

__all__ = [
    "Call",
    "HostedProvider",
    "Outputs",
    "Progress",
    "Provider",
    "Reply",
    "Step",
    "TaskRef",
    "error_detail",
    "local_inputs",
]

if TYPE_CHECKING:
    from .._inputs import InputImage
    from .._request import GenerationRequest
    from .._spec import ModelSpec


#: What a 404 or 410 on a model's own route means.
_NOT_SERVED = (
    "This host does not serve the model at that address: it may have been retired there. "
    "Choose another model, or the same model at another host"
)


class Provider:
    """Base class of providers. Subclasses set the class attributes and override
    :meth:`start` and :meth:`advance`."""

    #: Short name used in snippets and ``FluxClient(provider=...)``.
    name: str = ""
    #: Name shown to people.
    label: str = ""
    #: Environment variable that holds the key, if the provider needs one.
    key_env: str | None = None
    #: What it takes, in a line of the README's table of providers.
    summary: str = ""

    @classmethod
    def environment(cls) -> str:
        """What to set to use it, in words (the README's table)."""
        return f"`{cls.key_env}`" if cls.key_env else "none"

    #: The capability table requests are validated against.
    models: Mapping[str, ModelSpec] = {}
    #: True for providers that make images here, with no account and no cost
    #: (their flow ends at once with drawings instead of addresses).
    offline: bool = False
    #: The host's published limits for one account (kept by the gate every
    #: client of the process shares; see :mod:`fluxpanel._limits`).
    limits: HostLimits = HostLimits()
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

    def cancel(self, call: Call) -> Call | None:
        """A call that cancels the task ``call`` belongs to, if the API has one."""
        return None

    # -- tasks that outlive the process --------------------------------------------------

    def accepted(self, request: GenerationRequest, call: Call, reply: Reply) -> TaskRef | None:
        """The task a successful billable create started, for the ledger
        (``None`` where there is nothing to follow again)."""
        return None

    def rejoin(self, request: GenerationRequest, task: TaskRef) -> Step:
        """The first step of following ``task`` again (after a restart, or
        to join a task already paid for): never a new create."""
        raise NotImplementedError(f"{self.label} cannot follow a task again")

    def kept_for(self, request: GenerationRequest) -> float | None:
        """Seconds the host keeps a task's results, where it says."""
        return None

    # -- errors --------------------------------------------------------------------

    def retry_after(self, reply: Reply) -> float | None:
        """The seconds a 429 asks to wait, if it says (``Retry-After``)."""
        return parse_retry_after(reply.headers.get("retry-after"))

    def error(self, call: Call, reply: Reply, retry_after: float | None = None) -> FluxError:
        """The error for a reply with an error status."""
        detail = error_detail(reply.body)
        what = f"{self.label} answered {reply.status}"
        message = f"{what}: {detail}" if detail else what
        if reply.request_id:
            message += f" (request id {reply.request_id})"
        special = self.error_class(reply.status, detail)
        if special is None and call.billable and reply.status in (404, 410):
            special = (ModelNotServedError, _NOT_SERVED)
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

    @property
    def keys(self) -> KeyRule:
        """Where the key may go and what no message may hold (:mod:`fluxpanel._keys`)."""
        return NO_KEY

    @property
    def addresses(self) -> AddressRule:
        """Which addresses its answers may send fluxpanel to (:mod:`fluxpanel._addresses`)."""
        return AddressRule(self.label, self.local)

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

    @property
    def keys(self) -> KeyRule:
        return KeyRule(self._base, self.key_hosts, (self._api_key, *url_secrets(self._base)))

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
        return self.keys.may_go(url)

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
