"""``Fal``: the flow of a request on fal's queue API.

The models, their routes and fields are rows of :mod:`fluxpanel.tables.fal`.
Where each rule of the flow comes from (fal's queue documentation; fal-js
``libs/client/src/queue.ts`` and ``storage.ts``):

- ``POST https://queue.fal.run/<app>`` with the input as the JSON body and
  ``Authorization: Key <key>`` submits a request and answers ``request_id``,
  ``status_url``, ``response_url`` and ``cancel_url``.
- ``GET status_url`` answers ``IN_QUEUE`` (with ``queue_position``),
  ``IN_PROGRESS`` or ``COMPLETED``; then ``GET response_url`` gives the
  result: ``images`` (``url``, ``width``, ``height``, ``content_type``),
  ``seed`` and ``has_nsfw_concepts`` (one flag per image). ``PUT cancel_url``
  cancels a request that has not finished. Extra requests queue, not fail.
- An account without credit is answered 403 with ``{"detail": "User is
  locked. Reason: Exhausted balance. Top up your balance at
  fal.ai/dashboard/billing"}`` (recorded by several integrations; the status
  says "forbidden", the words say "out of credit").
- Progress: a status of ``IN_QUEUE`` carries ``queue_position``; then
  ``IN_PROGRESS``; fluxpanel shows both. Learning the result: fal's status
  stream (``GET <status_url>/stream``, server-sent events, one ``data:``
  object per change of status, as fal-js's ``streamStatus`` reads it) is one
  request held open that says COMPLETED the moment it is: fluxpanel follows
  it, showing each event's queue position as it comes, then fetches the
  result. Should the stream end without COMPLETED, it polls the status URL
  from 0.25 s growing by half to 4 s. (fal's Python client polls every
  0.1 s.)
- The queue, status, result and cancel URLs are on ``queue.fal.run`` (fal-js,
  ``libs/client/src/queue.ts``); the key goes there over https and nowhere else.
- Seeds: "Seed of the generated Image. It will be the same value of the one
  passed in the input": one seed for the whole request. Flagged images are
  replaced by black ones and marked in ``has_nsfw_concepts``; fal bills them
  (they were made), and fluxpanel withholds them.
- Input images are URLs. fal's clients upload local files to fal's storage
  first (fal-js ``storage.ts``: ``POST https://rest.fal.ai/storage/upload/
  initiate?storage_type=fal-cdn-v3`` with ``content_type`` and ``file_name``
  answers ``upload_url`` and ``file_url``; the bytes go by ``PUT
  upload_url``, without the key); so does fluxpanel.
- Kontext with more images goes to the row's multi-image route, which takes
  every image as ``image_urls`` (the input image first) in place of
  ``image_url``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .._errors import APIError, FluxError, InsufficientCreditsError, ModerationError
from .._inputs import InputImage
from .._limits import HostLimits
from .._request import GenerationRequest
from ..tables.fal import MODELS
from ._base import Call, HostedProvider, Outputs, Progress, Reply, TaskRef
from ._wire import spell

__all__ = ["KEY_HOSTS", "MODELS", "STORAGE_URL", "Fal", "route"]

KEY_ENV = "FAL_KEY"
DEFAULT_URL = "https://queue.fal.run"
#: fal's default storage for uploads (fal-js ``getRestApiUrl``).
STORAGE_URL = "https://rest.fal.ai"
_WAITING = {"IN_QUEUE", "IN_PROGRESS"}
KEY_HOSTS = re.compile(r"queue\.fal\.run|rest\.fal\.ai")


def _last_event(body: bytes, *, waiting: bool = False) -> dict[str, Any] | None:
    """The last whole event of a server-sent event stream, as JSON (with
    ``waiting``, the last that says the request is queued or running)."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    for block in reversed(text.split("\n\n")[:-1]):  # the text after the last blank line is partial
        data = "\n".join(
            line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
        )
        if not data:
            continue  # a comment or a keep-alive
        try:
            event = json.loads(data)
        except ValueError:
            return None
        if not isinstance(event, dict):
            return None
        if waiting and not _is_waiting(event):
            continue
        return event
    return None


def _is_waiting(data: dict[str, Any]) -> bool:
    status = data.get("status")
    return isinstance(status, str) and status in _WAITING


def _progress(data: dict[str, Any] | None) -> Progress | None:
    """What a status says of the request: queued at a position, or running."""
    if not data or not _is_waiting(data):
        return None
    position = data.get("queue_position")
    queued = data["status"] == "IN_QUEUE"
    ok = queued and isinstance(position, int) and not isinstance(position, bool)
    return Progress("queued" if queued else "running", position=position if ok else None)


def _has_more(request: GenerationRequest) -> bool:
    """Whether the request has images beyond its first image parameter's
    (Kontext's more images), which go to the row's multi-image route."""
    given = [
        name for name, p in request.spec.params.items() if p.is_image and name in request.inputs
    ]
    return len(given) > 1 and bool(request.spec.wire.multi)


def route(request: GenerationRequest) -> str:
    """The request's route at fal (an ``/edit`` route when it has references,
    Kontext's ``/multi`` with more images)."""
    return request.spec.wire.route_for(bool(request.inputs), _has_more(request))


class Fal(HostedProvider):
    """fal's queue API. ``api_key`` defaults to ``$FAL_KEY``."""

    #: What it takes, in a line of the README's table of providers.
    summary = (
        "named sizes (`square_hd`, `landscape_16_9`, ...); schnell steps 1–12; "
        "guidance 1–20; FLUX.1 [pro] at `fal-ai/flux-pro/new`; queue submit, status, "
        "result; images its safety checker flags are withheld, and the result says "
        "so; input images uploaded to fal's storage first (without the key), FLUX.2 "
        "with references on its `/edit` route, Kontext on `/text-to-image` without an "
        "input and on `/multi` with more images"
    )

    name = "fal"
    label = "fal"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    key_hosts = KEY_HOSTS
    models = MODELS
    withheld_by = "fal's safety checker"
    bills_withheld = True
    #: docs.fal.ai concurrency limits: requests past the account's
    #: concurrency wait in fal's queue ("never rejected"); the client bounds
    #: only how many it keeps in flight.
    limits = HostLimits(in_flight=64, source="docs.fal.ai: requests queue past the concurrency")

    def error_class(self, status: int, detail: str) -> tuple[type[APIError], str] | None:
        if "exhausted balance" in detail.lower():
            return InsufficientCreditsError, "Top up at fal.ai/dashboard/billing."
        return None

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        storage_url: str | None = None,
    ) -> None:
        super().__init__(api_key, base_url)
        # A gateway (or the loopback fake) given as base_url serves uploads too.
        self._storage = (storage_url or (base_url if base_url else STORAGE_URL)).rstrip("/")

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's input (our names mapped to fal's)."""
        return self._input(request, {})

    def _input(self, request: GenerationRequest, uploaded: Any) -> dict[str, Any]:
        def image(item: InputImage) -> str:
            # A URL (its own, or the uploaded file's; a data URI only in
            # wire()'s preview, before any upload).
            if item.url is not None:
                return item.url
            return uploaded.get(item.sha256) or item.data_uri()

        body = spell(request, image)
        if _has_more(request):  # the multi route: every image in one list, in order
            names = [
                n for n, p in request.spec.params.items() if p.is_image and n in request.inputs
            ]
            fields = [request.spec.wire.names.get(n, n) for n in names]
            images: list[Any] = []
            for field in fields:
                value = body.pop(field)
                images += value if isinstance(value, list) else [value]
            body["image_urls"] = images
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    def needs_upload(self, image: InputImage) -> bool:
        return True  # fal takes URLs; its clients upload every local file

    def upload(self, image: InputImage) -> Call:
        return Call(
            "POST",
            f"{self._storage}/storage/upload/initiate?storage_type=fal-cdn-v3",
            json={"content_type": image.mime, "file_name": image.filename},
            headers=self._headers(),
        )

    def uploaded(self, image: InputImage, call: Call, reply: Reply) -> Call | str:
        if call.method == "PUT":
            return call.state["file_url"]
        data = self.json_object(reply)
        put, url = data.get("upload_url"), data.get("file_url")
        if not isinstance(put, str) or not isinstance(url, str):
            raise self.unreadable(reply, "the upload answer has no upload_url and file_url")
        if not put.startswith(("https://", "http://")) or not url.startswith(
            ("https://", "http://")
        ):
            raise self.unreadable(reply, "the upload URLs are not http(s)")
        # The bytes go to the signed upload URL without the key.
        return Call(
            "PUT",
            put,
            content=image.data,
            headers={"Content-Type": image.mime},
            state={**call.state, "file_url": url},
        )

    def submit(self, request: GenerationRequest, uploaded: Any) -> Call:
        return Call(
            "POST",
            f"{self._base}/{route(request)}",
            json=self._input(request, uploaded),
            headers=self._headers(),
            billable=True,
        )

    def _url(self, reply: Reply, data: dict[str, Any], key: str) -> str:
        url = data.get(key)
        if not isinstance(url, str) or not self.on_site(url):
            raise self.unreadable(reply, f"the answer has no usable {key}")
        return url

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        step = self.upload_step(request, call, reply)
        if step is not None:
            return step
        phase = call.state.get("phase") if isinstance(call.state, dict) else "submit"
        if phase == "stream":
            return self._streamed(call, reply)
        data = self.json_object(reply)
        if phase == "submit":
            return self._submitted(reply, data)
        if phase == "status":
            return self._status(call, reply, data)
        return self._outputs(request, call, reply, data)

    def _submitted(self, reply: Reply, data: dict[str, Any]) -> Call:
        """Queued: follow the request's status stream."""
        task = str(data.get("request_id", "?"))
        status_url = self._url(reply, data, "status_url")
        state = {
            "phase": "stream",
            "n": 0,
            "status": status_url,
            "response": self._url(reply, data, "response_url"),
            "cancel": data.get("cancel_url"),
        }
        return Call(
            "GET",
            status_url.split("?")[0] + "/stream",
            headers={**self._headers(), "Accept": "text/event-stream"},
            task=task,
            state=state,
            until=lambda body: (_last_event(body) or {}).get("status") == "COMPLETED",
            watch=lambda body: _progress(_last_event(body, waiting=True)),
        )

    def _streamed(self, call: Call, reply: Reply) -> Call:
        """The stream ended: fetch the result, or poll if it ended early."""
        last = _last_event(reply.body)
        state = {**call.state, "phase": "status"}
        if last is not None and not isinstance(last.get("status"), str):
            raise self.unreadable(reply, f"request {call.task} has no status")
        if last is not None and last.get("status") == "COMPLETED":
            return self._result(call, state)
        return self._poll(state["status"], call.task or "?", state, _progress(last))

    def _status(self, call: Call, reply: Reply, data: dict[str, Any]) -> Call:
        status = data.get("status")
        if not isinstance(status, str):
            raise self.unreadable(reply, f"request {call.task} has no status")
        if status == "COMPLETED":
            return self._result(call, call.state)
        if status in _WAITING:
            state = {**call.state, "n": call.state["n"] + 1}
            return self._poll(call.url, call.task or "?", state, _progress(data))
        raise self.unreadable(reply, f"request {call.task} has an unknown status {status[:80]!r}")

    def _result(self, call: Call, state: dict[str, Any]) -> Call:
        state = {**state, "phase": "result"}
        return Call("GET", state["response"], headers=self._headers(), task=call.task, state=state)

    def _outputs(
        self, request: GenerationRequest, call: Call, reply: Reply, data: dict[str, Any]
    ) -> Outputs:
        images = data.get("images")
        if not isinstance(images, list) or not images:
            raise self.unreadable(reply, f"request {call.task} has no images")
        flags = data.get("has_nsfw_concepts")
        if flags is None:
            flags = [False] * len(images)
        if not isinstance(flags, list) or not all(isinstance(f, bool) for f in flags):
            raise self.unreadable(
                reply, f"has_nsfw_concepts of request {call.task} is not a list of true/false"
            )
        seed = data.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = request.seed
        urls, refused = [], 0
        for i, item in enumerate(images):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str):
                raise self.unreadable(reply, f"image {i + 1} of request {call.task} has no url")
            if i < len(flags) and flags[i]:
                refused += 1  # replaced by a black image: withheld, not downloaded
            else:
                urls.append(url)
        if not urls:
            raise ModerationError(
                f"fal's safety checker withheld every image of request {call.task} "
                "(each was replaced by a black image); try another prompt or seed"
            )
        return Outputs(urls=urls, seeds=[seed] * len(urls), withheld=refused)

    def _poll(
        self, url: str, task: str, state: dict[str, Any], progress: Progress | None = None
    ) -> Call:
        delay = self.poll_delay(state["n"])
        return Call(
            "GET",
            url,
            headers=self._headers(),
            delay=delay,
            task=task,
            state=state,
            progress=progress,
        )

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if isinstance(cancel, str) and self.on_site(cancel):
            return Call("PUT", cancel, headers=self._headers())
        return None

    # -- tasks that outlive the process ---------------------------------------------------

    def accepted(self, request: GenerationRequest, call: Call, reply: Reply) -> TaskRef | None:
        """The queued request: its status, response and cancel URLs."""
        data = self.json_object(reply)
        follow = {k: data.get(k) for k in ("status_url", "response_url", "cancel_url")}
        task = data.get("request_id")
        urls = [follow["status_url"], follow["response_url"]]
        if not isinstance(task, str) or not all(
            isinstance(u, str) and self.on_site(u) for u in urls
        ):
            return None
        return TaskRef(task, follow)

    def rejoin(self, request: GenerationRequest, task: TaskRef) -> Call:
        status, response = task.follow.get("status_url"), task.follow.get("response_url")
        for url in (status, response):
            if not isinstance(url, str) or not self.on_site(url):
                raise FluxError(f"request {task.id} has no status and response URLs at fal")
        state = {
            "phase": "status",
            "n": 0,
            "status": status,
            "response": response,
            "cancel": task.follow.get("cancel_url"),
        }
        return self._poll(str(status), task.id, state)
