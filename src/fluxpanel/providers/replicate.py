"""``Replicate``: the flow of a prediction at Replicate.

The models, their slugs and fields are rows of
:mod:`fluxpanel.tables.replicate`. Where each rule of the flow comes from:

- The prediction protocol (Replicate's HTTP API reference; the recorded
  cassettes of replicate/replicate-python and the client generated from
  Replicate's OpenAPI, replicate/replicate-python-beta):
  ``POST /v1/models/black-forest-labs/<model>/predictions`` with
  ``{"input": {...}}`` and ``Authorization: Bearer <token>`` creates a
  prediction. ``Prefer: wait=<1..60>`` holds the call open until it finishes;
  otherwise (or if it takes longer) poll ``urls.get``; ``urls.cancel`` cancels.
  A prediction's ``status`` is ``starting``, ``processing``, ``succeeded``,
  ``failed`` (with ``error``), ``canceled`` or ``aborted``. Invalid input is
  422 ``application/problem+json`` with ``title``, ``detail`` and
  ``invalid_fields``. Outputs are deleted after an hour, so they are
  downloaded at once. 600 prediction creations a minute, then 429.
- Safety (cog-flux ``postprocess``): a flagged image is left out of the
  output; when every image is flagged the prediction fails with "All
  generated images contained NSFW content. Try running it again with a
  different prompt." Black Forest Labs' models answer "The input or output
  was flagged as sensitive. Please try again with different inputs. (E005)".
- Learning the result (the HTTP API reference, "Create a prediction"):
  ``Prefer: wait`` holds the create call open until the prediction finishes
  (up to 60 s), the quickest way to have it; fluxpanel holds it 10 s, then
  polls ``urls.get`` from 0.25 s growing by half to 4 s, where Cancel can
  reach it. Progress: ``starting`` is queued, ``processing`` is running, and
  the prediction's ``logs`` carry cog-flux's progress bars (``50%|...| 2/4``),
  read as the fraction done.
- Predictions are polled at ``urls.get`` on ``api.replicate.com``; the key
  goes there over https and nowhere else.
- Input images ("Input files", replicate.com/docs/topics/predictions/
  input-files): "Must be jpeg, png, gif, or webp"; an http(s) URL, a data URI
  ("only recommended if the file is less than 1MB") or a file uploaded with
  ``POST /v1/files`` (multipart ``content``; "files up to 100MB"), whose
  ``urls.get`` is then the input. fluxpanel sends inputs under 1 MB as data
  URIs and uploads larger ones.
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import APIError, FluxError, ModerationError
from .._inputs import InputImage
from .._limits import HostLimits
from .._request import GenerationRequest
from ..tables.replicate import MODELS
from ._base import Call, HostedProvider, Outputs, Progress, Reply, TaskRef, error_detail
from ._wire import spell

__all__ = ["DATA_URI_MAX", "KEY_HOSTS", "MODELS", "Replicate", "log_fraction"]

KEY_ENV = "REPLICATE_API_TOKEN"
DEFAULT_URL = "https://api.replicate.com"
#: How long the create call is held open (Replicate allows 1 to 60 seconds):
#: long enough for most generations to come back in one call, short enough
#: that a slow one moves on to polling, where Cancel can stop it.
WAIT = 10
#: Inputs at or above this size are uploaded, smaller ones sent as data URIs.
DATA_URI_MAX = 1_000_000
_RUNNING = {"starting", "processing"}
KEY_HOSTS = re.compile(r"api\.replicate\.com")
#: Words of Replicate's moderation failures (E005, cog-flux's NSFW check).
MODERATION = re.compile(r"\(E005\)|flagged as sensitive|nsfw", re.I)
_PERCENT = re.compile(r"(\d{1,3})%\|")


def log_fraction(logs: Any) -> float | None:
    """How far a prediction is, from the last progress bar in its logs
    (cog-flux prints tqdm bars: ``50%|█████     | 2/4``)."""
    if not isinstance(logs, str):
        return None
    found = _PERCENT.findall(logs[-2000:])
    return min(int(found[-1]), 100) / 100 if found else None


#: How Replicate's 429 names its wait (replicate.com/docs/topics/predictions/rate-limits).
_RESETS = re.compile(r"resets in ~?\s*([0-9]+(?:\.[0-9]+)?)\s*s", re.I)


class Replicate(HostedProvider):
    """Replicate's API. ``api_key`` defaults to ``$REPLICATE_API_TOKEN``."""

    #: What it takes, in a line of the README's table of providers.
    summary = (
        "each model's own aspect ratios (flux-pro: `custom` with width and height); "
        "`go_fast` (on by default, not deterministic); seeds from 1 on schnell and "
        "dev; one seed per batch; the call is held open, then polled; input images "
        "under 1 MB as data URIs, larger ones uploaded with `POST /v1/files`; Cancel "
        "cancels the prediction"
    )

    name = "replicate"
    label = "Replicate"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    key_hosts = KEY_HOSTS
    models = MODELS
    withheld_by = "Replicate's safety filter"
    bills_withheld = False
    #: replicate.com/docs/topics/predictions/rate-limits: 600 creates a minute
    #: (a stricter limit without enough credit is learned from its 429s).
    limits = HostLimits(per_minute=600, source="replicate.com: 600 predictions a minute")
    cancel_note = (
        "A prediction still in Replicate's first answer cannot be cancelled from "
        "here; one being polled was cancelled at Replicate."
    )

    def retry_after(self, reply: Reply) -> float | None:
        """``Retry-After``, else the wait Replicate writes in the body of its
        429 ("Request was throttled. Your rate limit resets in ~30s.")."""
        header = super().retry_after(reply)
        if header is not None:
            return header
        found = _RESETS.search(error_detail(reply.body, limit=300))
        return float(found.group(1)) if found else None

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The prediction's ``input`` (our names mapped to Replicate's)."""
        return self._input(request, {})

    def _input(self, request: GenerationRequest, uploaded: Any) -> dict[str, Any]:
        def image(item: InputImage) -> str:
            # A URL (its own, or the uploaded file's), or a data URI for a small file.
            if item.url is not None:
                return item.url
            return uploaded.get(item.sha256) or item.data_uri()

        return spell(request, image)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def needs_upload(self, image: InputImage) -> bool:
        return image.size >= DATA_URI_MAX

    def upload(self, image: InputImage) -> Call:
        return Call(
            "POST",
            f"{self._base}/v1/files",
            files={"content": (image.filename, image.data, image.mime)},
            headers=self._headers(),
        )

    def uploaded(self, image: InputImage, call: Call, reply: Reply) -> Call | str:
        urls = self.json_object(reply).get("urls")
        url = urls.get("get") if isinstance(urls, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise self.unreadable(reply, "the uploaded file has no urls.get")
        return url

    def submit(self, request: GenerationRequest, uploaded: Any) -> Call:
        slug = request.spec.wire.route
        return Call(
            "POST",
            f"{self._base}/v1/models/black-forest-labs/{slug}/predictions",
            json={"input": self._input(request, uploaded)},
            headers={**self._headers(), "Prefer": f"wait={WAIT}"},
            billable=True,
        )

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        step = self.upload_step(request, call, reply)
        if step is not None:
            return step
        data = self.json_object(reply)
        if "status" not in data:
            raise self.unreadable(reply, "expected a prediction")
        task = str(data.get("id", "?"))[:80]
        status = data["status"]
        if not isinstance(status, str):
            raise self.unreadable(reply, f"prediction {task} has no status")
        if status == "succeeded":
            return self._succeeded(request, reply, data, task)
        if status == "failed":
            error = str(data.get("error") or "no reason given")[:500]
            cls = ModerationError if MODERATION.search(error) else APIError
            raise cls(f"Replicate's prediction {task} failed: {error}", body=data)
        if status in ("canceled", "aborted"):
            raise FluxError(f"Replicate's prediction {task} was {status}")
        if status not in _RUNNING:
            raise self.unreadable(reply, f"prediction {task} has an unknown status {status[:80]!r}")
        return self._running(call, reply, data, status, task)

    def _succeeded(
        self, request: GenerationRequest, reply: Reply, data: dict[str, Any], task: str
    ) -> Outputs:
        output = data.get("output")
        urls = [output] if isinstance(output, str) else output
        if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
            raise self.unreadable(reply, f"prediction {task} succeeded without output URLs")
        if len(urls) > request.count:
            raise self.unreadable(reply, f"prediction {task} returned more images than asked")
        # cog-flux leaves flagged images out of the output.
        return Outputs(urls=urls, withheld=request.count - len(urls))

    def _running(
        self, call: Call, reply: Reply, data: dict[str, Any], status: str, task: str
    ) -> Call:
        """Still running: poll ``urls.get`` (on Replicate's API host)."""
        urls = data.get("urls") or {}
        poll = urls.get("get") if isinstance(urls, dict) else None
        if not isinstance(poll, str) or not self.on_site(poll):
            raise self.unreadable(reply, f"prediction {task} has no usable urls.get")
        cancel = urls.get("cancel")
        n = call.state["n"] + 1 if isinstance(call.state, dict) else 0
        state = {"n": n, "cancel": cancel if isinstance(cancel, str) else None}
        progress = Progress(
            "queued" if status == "starting" else "running", fraction=log_fraction(data.get("logs"))
        )
        return Call(
            "GET",
            poll,
            headers=self._headers(),
            delay=self.poll_delay(n),
            task=task,
            state=state,
            progress=progress,
        )

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if cancel and self.on_site(cancel):
            return Call("POST", cancel, headers=self._headers())
        return None

    # -- tasks that outlive the process ---------------------------------------------------

    def accepted(self, request: GenerationRequest, call: Call, reply: Reply) -> TaskRef | None:
        """The prediction and its ``urls.get`` (Replicate reports no cost)."""
        data = self.json_object(reply)
        urls = data.get("urls") if isinstance(data.get("urls"), dict) else {}
        task, get, cancel = data.get("id"), urls.get("get"), urls.get("cancel")
        if not isinstance(task, str) or not isinstance(get, str) or not self.on_site(get):
            return None
        return TaskRef(task, {"url": get, "cancel": cancel if isinstance(cancel, str) else None})

    def rejoin(self, request: GenerationRequest, task: TaskRef) -> Call:
        url = task.follow.get("url")
        if not isinstance(url, str) or not self.on_site(url):
            raise FluxError(f"prediction {task.id} has no urls.get on Replicate's API")
        state = {"n": 0, "cancel": task.follow.get("cancel")}
        return Call("GET", url, headers=self._headers(), task=task.id, state=state)

    def kept_for(self, request: GenerationRequest) -> float:
        """ "Output files ... are automatically removed after an hour"
        (replicate.com/docs/topics/predictions/data-retention)."""
        return 3600.0
