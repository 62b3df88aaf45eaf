"""``FakeReplicate``: Replicate's predictions API on loopback, as documented.

Written from Replicate's material, never from the adapter's tables: the
prediction protocol (replicate/replicate-python's recorded cassettes, the
client generated from Replicate's OpenAPI), replicate/cog-flux ``predict.py``
for flux-schnell and flux-dev (inputs, seeds, safety), and the flux-pro
version page for flux-pro.

Creating a prediction with ``Prefer: wait`` answers when it finishes (or with
its current state, when it takes more polls than the server is told to hold);
``GET /v1/predictions/<id>`` polls it; ``POST .../cancel`` cancels it. Input
that breaks the model's schema is 422 ``application/problem+json`` with
``invalid_fields``. Like cog-flux, a seed of 0 is no seed (a random one is
drawn), one seed makes the whole batch, ``go_fast`` does not give the same
image twice, and flagged images are left out of the output. Outputs are URLs
that expire after an hour.
"""

from __future__ import annotations

import email.policy
import hashlib
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from typing import Any

from ._schema import FLUX3_RATIOS, Field, check, image_field
from ._server import LoopbackServer, _Handler, seeded_png

REPLICATE_FAULTS = frozenset(
    {
        "status",  # answer the create with ``status`` (402, 429 with ``retry_after``, 5xx)
        "drop",  # close the create's connection without answering
        "failed",  # the prediction fails with ``error`` (default "CUDA out of memory")
        "nsfw",  # every image flagged: cog-flux's failure
        "withhold",  # ``count`` images of the batch flagged and left out (cog-flux)
        "e005",  # a partner model's moderation failure (E005)
        "never_done",  # the prediction stays "processing" for ever
    }
)
NSFW = "All generated images contained NSFW content. Try running it again with a different prompt."
E005 = (
    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)"
)

_ULTRA_RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21")
_COG_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_COG = {  # cog-flux Inputs, shared by schnell and dev
    "prompt": Field("string", required=True),
    "aspect_ratio": Field("string", enum=_COG_RATIOS),
    "num_outputs": Field("integer", 1, 4),
    "seed": Field("integer"),
    "output_format": Field("string", enum=("webp", "jpg", "png")),
    "output_quality": Field("integer", 0, 100),
    "disable_safety_checker": Field("boolean"),
    "go_fast": Field("boolean"),
    "megapixels": Field("string", enum=("1", "0.25")),
}
SCHEMAS: dict[str, dict[str, Field]] = {
    "flux-schnell": {**_COG, "num_inference_steps": Field("integer", 1, 4)},
    "flux-dev": {
        **_COG,
        "num_inference_steps": Field("integer", 1, 50),
        "guidance": Field("number", 0, 10),
        "image": Field("string"),
        "prompt_strength": Field("number", 0, 1),
    },
    # cog-flux DevLoraPredictor: flux-dev's inputs and two LoRAs, each -1 to 3
    "flux-dev-lora": {
        **_COG,
        "num_inference_steps": Field("integer", 1, 50),
        "guidance": Field("number", 0, 10),
        "image": Field("string"),
        "prompt_strength": Field("number", 0, 1),
        "lora_weights": Field("string"),
        "lora_scale": Field("number", -1, 3),
        "extra_lora": Field("string"),
        "extra_lora_scale": Field("number", -1, 3),
        "hf_api_token": Field("string"),
        "civitai_api_token": Field("string"),
    },
    "flux-pro": {
        "prompt": Field("string", required=True),
        "image_prompt": Field("string"),
        "aspect_ratio": Field(
            "string",
            enum=("custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3"),
        ),
        "width": Field("integer", 256, 1440),  # rounded to a multiple of 32, not refused
        "height": Field("integer", 256, 1440),
        "steps": Field("integer", 1, 50),
        "guidance": Field("number", 2, 5),
        "interval": Field("number", 1, 4),
        "safety_tolerance": Field("integer", 1, 6),
        "seed": Field("integer"),
        "prompt_upsampling": Field("boolean"),
        "output_format": Field("string", enum=("webp", "jpg", "png")),
        "output_quality": Field("integer", 0, 100),
    },
}
# Image inputs: a URL, a data URI, or a file uploaded with POST /v1/files;
# "Must be jpeg, png, gif, or webp".
_URL = ("url", "data_uri")
_IMAGE = image_field(_URL)
_PARTNER = {
    "prompt": Field("string", required=True),
    "seed": Field("integer"),
    "output_format": Field("string", enum=("webp", "jpg", "png")),
    "output_quality": Field("integer", 0, 100),
}
_KONTEXT_RATIOS = ("match_input_image", *_COG_RATIOS)
_FLUX2_RATIOS = (
    "match_input_image",
    "custom",
    "1:1",
    "16:9",
    "3:2",
    "2:3",
    "4:5",
    "5:4",
    "9:16",
    "3:4",
    "4:3",
)


def _flux2(most: int, high: int) -> dict[str, Field]:
    return {
        **_PARTNER,
        "input_images": Field("images", 0, most, forms=_URL),
        "aspect_ratio": Field("string", enum=_FLUX2_RATIOS),
        # "Must be a multiple of 16 (if it's not, it will be rounded ...)"
        "width": Field("integer", 256, high),
        "height": Field("integer", 256, high),
        "safety_tolerance": Field("integer", 1, 5),
        # 285631b5's page, the values from a listing (not flux-2-dev's)
        "resolution": Field("string", enum=("match_input_image", "0.5 MP", "1 MP", "2 MP", "4 MP")),
    }


_KONTEXT = {
    **_PARTNER,
    "input_image": _IMAGE,
    "aspect_ratio": Field("string", enum=(*_KONTEXT_RATIOS, "2:1", "1:2")),
    "prompt_upsampling": Field("boolean"),
    # "2 is currently the maximum allowed when input images are used"
    "safety_tolerance": Field("integer", 0, 6, most_with=("input_image", 2)),
}
SCHEMAS.update(
    {
        # 96ccd0e7: flux-pro's schema without steps, guidance and interval
        "flux-1.1-pro": {
            k: v
            for k, v in SCHEMAS["flux-pro"].items()
            if k not in ("steps", "guidance", "interval")
        }
        | {"image_prompt": _IMAGE},
        # A schema-generated mirror of Replicate's openapi_schema (nodetool-ai/
        # nodetool, class Flux_1_1_Pro_Ultra): no size, no batch; jpg or png.
        "flux-1.1-pro-ultra": {
            "prompt": Field("string", required=True),
            "aspect_ratio": Field("string", enum=_ULTRA_RATIOS),
            "raw": Field("boolean"),
            "image_prompt": _IMAGE,
            "image_prompt_strength": Field("number", 0, 1),
            "safety_tolerance": Field("integer", 1, 6),
            "seed": Field("integer"),
            "output_format": Field("string", enum=("jpg", "png")),
        },
        "flux-kontext-pro": _KONTEXT,
        "flux-kontext-max": _KONTEXT,
    }
)
#: The finetune's id (required) and strength, 0 to 2, on the finetuned models'
#: version pages (flux-pro-finetuned 3412257f, flux-1.1-pro-ultra-finetuned 1ab8454c).
_FINETUNE = {
    "finetune_id": Field("string", required=True),
    "finetune_strength": Field("number", 0, 2),
}
SCHEMAS.update(
    {
        "flux-pro-finetuned": {
            k: v for k, v in SCHEMAS["flux-pro"].items() if k not in ("interval", "image_prompt")
        }
        | {"image_prompt": _IMAGE, **_FINETUNE},
        "flux-1.1-pro-ultra-finetuned": {**SCHEMAS["flux-1.1-pro-ultra"], **_FINETUNE},
        "flux-kontext-dev": {
            **_PARTNER,
            "input_image": image_field(_URL, required=True),
            "aspect_ratio": Field("string", enum=_KONTEXT_RATIOS),
            "num_inference_steps": Field("integer", 4, 50),
            "guidance": Field("number", 0, 10),
            "go_fast": Field("boolean"),
            "disable_safety_checker": Field("boolean"),
        },
        "flux-fill-pro": {
            **_PARTNER,
            "image": _IMAGE,
            "mask": image_field(_URL, same_size_as="image", alpha_of="image"),
            "outpaint": Field("string"),
            "steps": Field("integer", 1, 50),
            "guidance": Field("number", 2, 5),
            "safety_tolerance": Field("integer", 1, 6),
            "prompt_upsampling": Field("boolean"),
        },
        "flux-2-pro": _flux2(8, 2048),
        "flux-2-max": _flux2(8, 2048),
        "flux-2-flex": {
            **_flux2(10, 2048),
            "steps": Field("integer", 1, 50),
            "guidance": Field("number", 1.5, 10),
            "prompt_upsampling": Field("boolean"),
        },
        "flux-2-dev": {
            **{k: v for k, v in _flux2(4, 1440).items() if k != "resolution"},
            "go_fast": Field("boolean"),
            "disable_safety_checker": Field("boolean"),
            "safety_tolerance": Field("integer", 1, 5),
        },
        # 8e9c42d7 (see fluxpanel.tables.replicate): at most 5 images
        "flux-2-klein-4b": {
            "prompt": Field("string", required=True),
            "images": Field("images", 0, 5, forms=_URL),
            "aspect_ratio": Field("string", enum=(*_COG_RATIOS, "match_input_image")),
            "output_megapixels": Field("string", enum=("0.25", "0.5", "1", "2", "4")),
            "seed": Field("integer"),
            "go_fast": Field("boolean"),
            "output_format": Field("string", enum=("webp", "jpg", "png")),
            "output_quality": Field("integer", 0, 100),
            "disable_safety_checker": Field("boolean"),
        },
        # ec84b8fb: up to 10 images, "at least 256x256 px and at most 16 MP"
        "flux-3-image": {
            "prompt": Field("string", required=True),
            "images": Field("images", 0, 10, forms=_URL, min_side=256, max_megapixels=16),
            "aspect_ratio": Field("string", enum=FLUX3_RATIOS),
            "resolution": Field("string", enum=("768sq", "1k", "1.5k", "2k", "4k")),
            "grounding": Field("boolean"),
            "safety_tolerance": Field("integer", 0, 4),
            "output_format": Field("string", enum=("webp", "jpg", "png")),
            "output_quality": Field("integer", 0, 100),
        },
    }
)

# [klein] 9B: 4B's fields, as the 9B base model's page has them but for its
# guidance (see fluxpanel.tables.replicate: no page of 9B's own was found).
SCHEMAS["flux-2-klein-9b"] = dict(SCHEMAS["flux-2-klein-4b"])


def version_of(model: str) -> str:
    """The version id this fake reports for a model: a stand-in of the real
    form (64 hex digits), the same on every call; not Replicate's own id."""
    return hashlib.sha256(f"fake:{model}".encode()).hexdigest()


#: Models run by cog-flux (the rest are partner models run by Black Forest Labs).
_COG_MODELS = {"flux-schnell", "flux-dev", "flux-dev-lora"}
#: Models whose output is a list of URLs (the others answer one).
_LISTS = {*_COG_MODELS, "flux-2-klein-4b", "flux-2-klein-9b"}


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    polls_left: int
    fault: Any = None
    status: str = "starting"
    output: Any = None
    error: str | None = None
    logs: str = ""
    created_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    )
    created: float = field(default_factory=time.monotonic)
    #: When the prediction was done (``time.monotonic``), as the fake saw it.
    ready_at: float | None = None


class CreateLimit:
    """A token bucket: ``rate`` creates a second, ``burst`` at once."""

    def __init__(self, rate: float, burst: int, header: bool, whole: bool = True) -> None:
        self.rate, self.burst, self.header, self.whole = rate, burst, header, whole
        self._tokens, self._at = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float | None:
        """``None`` when a create may go now, else the seconds until one may."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= 1:
                self._tokens -= 1
                return None
            return (1 - self._tokens) / self.rate


class FakeReplicate(LoopbackServer):
    """Replicate on loopback. ``processing_polls`` is how many polls answer
    ``processing`` before a prediction succeeds; with 0, the create call
    (held open by ``Prefer: wait``) answers with the finished prediction."""

    api_faults = REPLICATE_FAULTS

    def __init__(
        self, *, api_key: str | None = None, processing_polls: int = 0, ttl: float = 3600.0
    ) -> None:
        super().__init__(api_key=api_key, ttl=ttl)
        self.processing_polls = processing_polls
        self.predictions: dict[str, _Prediction] = {}
        #: The seed each prediction was made with (cog-flux logs "Using seed: N").
        self.seeds_used: dict[str, int] = {}
        self._plock = threading.Lock()
        #: Files uploaded with POST /v1/files, by id.
        self.files: dict[str, bytes] = {}
        #: With a number, each prediction runs this many seconds (a held create
        #: waits for it, up to its ``Prefer: wait``), else ``processing_polls``.
        self.run_seconds: float | None = None
        #: Replicate's limit on creates (off until set; see :meth:`limit_creates`).
        self.create_limit: CreateLimit | None = None
        #: Creates answered 429 by that limit.
        self.throttled = 0

    def limit_creates(
        self, per_minute: float, burst: int, *, minute: float = 60.0, header: bool = True
    ) -> None:
        """Enforce Replicate's published limit on creates: ``per_minute`` (600;
        6 with a burst of 1 for an account under $5 of credit), with a
        ``minute`` as long as asked (tests shorten it). Past it, a create is
        answered 429 ``{"detail": "Request was throttled. Your rate limit
        resets in ~Ns."}``, with ``Retry-After`` only if ``header``
        (replicate.com/docs/topics/predictions/rate-limits)."""
        self.create_limit = CreateLimit(per_minute / minute, burst, header, whole=minute >= 60)

    @property
    def creates(self) -> list[Any]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/predictions")]

    @property
    def cancels(self) -> list[Any]:
        return [r for r in self.requests if r.path.endswith("/cancel")]

    @property
    def polls(self) -> list[Any]:
        return [
            r for r in self.requests if r.method == "GET" and r.path.startswith("/v1/predictions/")
        ]

    def _authorised(self, h: _Handler) -> bool:
        body = {
            "title": "Unauthenticated",
            "detail": "You did not pass a valid authentication token",
            "status": 401,
        }
        return self.authorised(h, "Authorization", f"Bearer {self.api_key}", 401, body)

    def _outputs(self, p: _Prediction) -> Any:
        """The output URLs, made once (the same on every read)."""
        n = int(p.input.get("num_outputs", 1))
        seed = p.input.get("seed")
        if p.model in _COG_MODELS and not seed:
            seed = random.randrange(1, 65536)  # cog-flux: "if not seed", a random one
        self.seeds_used[p.id] = seed
        # fp8 (go_fast, on by default) does not repeat itself for a seed.
        # FLUX 3 takes no seed: each prediction draws its own.
        fresh = p.model == "flux-3-image" or p.input.get("go_fast", p.model in _COG_MODELS)
        noise = secrets.token_hex(4) if fresh else ""
        key = (p.model, p.input.get("prompt"), seed, noise)
        flagged = int(p.fault[1]) if isinstance(p.fault, tuple) and p.fault[0] == "withhold" else 0
        urls = [self.store(seeded_png(*key, i)) for i in range(n)][flagged:]
        return urls if p.model in _LISTS else urls[0]

    def _view(self, p: _Prediction) -> dict[str, Any]:
        base = f"{self.url_base}/v1/predictions/{p.id}"
        out: dict[str, Any] = {
            "id": p.id,
            "model": f"black-forest-labs/{p.model}",
            # Every prediction names the model version that ran it (the
            # official clients require the field).
            "version": version_of(p.model),
            "created_at": p.created_at,
            "data_removed": False,
            "input": p.input,
            "status": p.status,
            "output": None,
            "error": None,
            "logs": p.logs,
            "urls": {"get": base, "cancel": base + "/cancel"},
        }
        if p.status == "succeeded":
            if p.output is None:
                p.output = self._outputs(p)
            out["output"] = p.output
        elif p.status == "failed":
            out["error"] = p.error
        return out

    def _advance(self, p: _Prediction) -> None:
        """One step of a prediction's life, as seen by a poll."""
        if p.status in ("succeeded", "failed", "canceled"):
            return
        if self.run_seconds is not None and p.fault != "never_done":
            if time.monotonic() - p.created < self.run_seconds:
                p.status = "processing"
                return
            p.ready_at = p.created + self.run_seconds
            p.status = "failed" if p.error else "succeeded"
            return
        if p.fault == "never_done" or p.polls_left > 0:
            p.polls_left -= 1
            if p.status == "processing":  # cog-flux's tqdm bar, one line per step
                steps = 4
                done = min(steps, p.logs.count("\n"))
                bar = "█" * (done * 10 // steps)
                p.logs += f"{done * 100 // steps:3d}%|{bar:<10}| {done}/{steps}\n"
            else:
                p.logs = f"Using seed: {p.input.get('seed', 0)}\n"
            p.status = "processing"
            return
        p.status = "failed" if p.error else "succeeded"
        p.ready_at = time.monotonic()

    def _upload(self, h: _Handler, body: bytes) -> None:
        """``POST /v1/files``: a multipart form with ``content`` (the file)."""
        if not self._authorised(h):
            return
        message = BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + (h.headers.get("Content-Type") or "").encode() + b"\r\n\r\n" + body
        )
        parts = (
            {
                part.get_param("name", header="content-disposition"): part
                for part in message.iter_parts()
            }
            if message.is_multipart()
            else {}
        )
        content = parts.get("content")
        if content is None:
            self._invalid(h, [("content", "content is required")])
            return
        data = content.get_payload(decode=True) or b""
        file_id = secrets.token_hex(8)
        self.files[file_id] = data
        h.send_json(
            201,
            {
                "id": file_id,
                "name": content.get_filename() or "file",
                "content_type": content.get_content_type(),
                "size": len(data),
                "urls": {"get": f"{self.url_base}/v1/files/{file_id}"},
            },
        )

    def resolve(self, url: str) -> bytes | None:
        """The bytes of a file this fake stored (None for URLs it did not hand out)."""
        prefix = f"{self.url_base}/v1/files/"
        if not url.startswith(prefix):
            return None
        data = self.files.get(url[len(prefix) :])
        if data is None:
            raise ValueError("names a file that does not exist")
        return data

    def handle_post(self, h: _Handler, body: bytes) -> None:
        parts = h.path.strip("/").split("/")
        if parts == ["v1", "files"]:
            self._upload(h, body)
            return
        if len(parts) == 4 and parts[:2] == ["v1", "predictions"] and parts[3] == "cancel":
            if not self._authorised(h):
                return
            with self._plock:
                p = self.predictions.get(parts[2])
                if p is None:
                    h.send_json(404, {"detail": "Not found."})
                    return
                if p.status in ("starting", "processing"):
                    p.status = "canceled"
                view = self._view(p)
            h.send_json(200, view)
            return
        if not (
            len(parts) == 5
            and parts[:3] == ["v1", "models", "black-forest-labs"]
            and parts[3] in SCHEMAS
            and parts[4] == "predictions"
        ):
            h.send_json(404, {"detail": "Not found."})
            return
        if not self._authorised(h):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        if self.create_limit is not None:
            wait = self.create_limit.take()
            if wait is not None:
                self.throttled += 1
                # Whole seconds, as Replicate writes them; tenths for a shortened minute.
                seconds = max(1, round(wait)) if self.create_limit.whole else round(wait + 0.05, 1)
                headers = {"Retry-After": f"{seconds:g}"} if self.create_limit.header else {}
                detail = f"Request was throttled. Your rate limit resets in ~{seconds:g}s."
                h.send_json(429, {"detail": detail}, headers=headers)
                return
        model = parts[3]
        try:
            data = json.loads(body)["input"]
        except (ValueError, KeyError, TypeError):
            self._invalid(h, [("input", "input is required")])
            return
        problems = check(SCHEMAS[model], data, resolve=self.resolve)
        if problems:
            self._invalid(h, problems)
            return
        kind = fault.kind if fault else None
        error = {
            "failed": (fault.options.get("error", "CUDA out of memory") if fault else None),
            "nsfw": NSFW,
            "e005": E005,
        }.get(kind or "")
        marker: Any = kind
        if kind == "withhold" and fault is not None:
            marker = ("withhold", fault.options.get("count", 1))
        p = _Prediction(
            secrets.token_hex(10), model, data, self.processing_polls, marker, error=error
        )
        prefer = h.headers.get("Prefer") or ""
        with self._plock:
            self.predictions[p.id] = p
        if "wait" in prefer and self.run_seconds is not None:
            # Held open until done, or for the wait asked (1 to 60 s; 60 without one).
            _, _, asked = prefer.partition("wait=")
            hold = float(asked) if asked.strip().isdigit() else 60.0
            end = time.monotonic() + hold
            while time.monotonic() < end:
                with self._plock:
                    self._advance(p)
                    if p.status in ("succeeded", "failed", "canceled"):
                        break
                time.sleep(0.005)
        with self._plock:
            view = self._view(p)
            if "wait" in prefer:
                self._advance(p)  # held open: finished if it could be
                view = self._view(p)
                if p.status not in ("succeeded", "failed", "canceled"):
                    # A hold that ends first answers "starting", whatever the
                    # prediction is doing (replicate-python's run.py: "If request
                    # exceeds the wait time ... the prediction will be in a
                    # 'starting' state").
                    view["status"] = "starting"
        h.send_json(201, view)

    def _invalid(self, h: _Handler, problems: list[tuple[str, str]]) -> None:
        h.send_body(
            422,
            json.dumps(
                {
                    "title": "Input validation failed",
                    "detail": "\n".join(f"- input.{f}: {m}" for f, m in problems),
                    "status": 422,
                    "invalid_fields": [
                        {"type": "invalid", "field": f"input.{f}", "description": m}
                        for f, m in problems
                    ],
                }
            ).encode(),
            "application/problem+json",
        )

    def handle_get(self, h: _Handler) -> None:
        parts = h.path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["v1", "predictions"]:
            h.send_json(404, {"detail": "Not found."})
            return
        if not self._authorised(h):
            return
        with self._plock:
            p = self.predictions.get(parts[2])
            if p is None:
                h.send_json(404, {"detail": "Not found."})
                return
            self._advance(p)
            view = self._view(p)
        h.send_json(200, view)
