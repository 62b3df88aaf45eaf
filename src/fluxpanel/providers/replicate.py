"""``Replicate``: the FLUX models as Replicate's official models.

Where each rule comes from:

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
- flux-schnell and flux-dev run replicate/cog-flux (``predict.py``, the
  ``SchnellPredictor`` and ``DevPredictor`` inputs): ``aspect_ratio`` one of
  the eleven ratios of ``ASPECT_RATIOS`` (default 1:1), ``num_outputs`` 1 to
  4, ``num_inference_steps`` 1 to 4 (default 4) and 1 to 50 (default 28),
  ``guidance`` 0 to 10 (default 3, dev), ``megapixels`` "1" or "0.25",
  ``disable_safety_checker`` (false), ``go_fast`` (true), ``seed``,
  ``output_format`` webp, jpg or png. The output is a list of URLs.
- Determinism (the models' pages, replicate.com/black-forest-labs/flux-schnell):
  ``go_fast`` "Run faster predictions with model optimized for speed
  (currently fp8 quantized) ... Note that outputs will not be deterministic
  when this is enabled, even if you set a seed." Seeds (cog-flux
  ``bf16_predict``): ``if not seed`` draws a random one, so 0 is no seed here
  and seeds start at 1; one seed makes the whole batch (``get_noise(num_outputs,
  ..., seed=seed)``). Safety (cog-flux ``postprocess``): a flagged image is left
  out of the output; when every image is flagged the prediction fails with
  "All generated images contained NSFW content. Try running it again with a
  different prompt." Pricing is per output image ("$3 per thousand output
  images" for flux-schnell), so a withheld image is not billed.
- flux-pro is run by Black Forest Labs (its version page,
  replicate.com/black-forest-labs/flux-pro/versions/.../api, and the
  flux-1.1-pro version 96ccd0e7 that shares its schema): ``aspect_ratio`` one
  of custom, 1:1, 16:9, 3:2, 2:3, 4:5, 5:4, 9:16, 3:4, 4:3 (default 1:1);
  ``width``/``height`` 256 to 1440 "only used when aspect_ratio=custom. Must
  be a multiple of 32"; ``steps`` 1 to 50 (25) and ``interval`` 1 to 4 (2),
  both marked deprecated; ``guidance`` 2 to 5 (3); ``safety_tolerance`` 1 to
  6 (2); ``prompt_upsampling`` (false); ``seed``; ``output_format`` webp, jpg
  or png. The output is one URL. Its moderation answers with the error "The
  input or output was flagged as sensitive. Please try again with different
  inputs. (E005)".
- Learning the result (the HTTP API reference, "Create a prediction"):
  ``Prefer: wait`` holds the create call open until the prediction finishes
  (up to 60 s), the quickest way to have it; fluxpanel holds it 10 s, then
  polls ``urls.get`` from 0.25 s growing by half to 4 s, where Cancel can
  reach it. Progress: ``starting`` is queued, ``processing`` is running, and
  the prediction's ``logs`` carry cog-flux's progress bars (``50%|...| 2/4``),
  read as the fraction done.
- Predictions are polled at ``urls.get`` on ``api.replicate.com``; the key
  goes there over https and nowhere else.

The FLUX family beyond FLUX.1 (each model's version page,
replicate.com/black-forest-labs/<model>/versions/<id>/api; every output is
one URL):

- flux-1.1-pro (version 96ccd0e7, the flux-pro schema without steps, guidance
  and interval): ``image_prompt`` (an image), ``aspect_ratio`` as flux-pro
  with ``custom`` width and height, ``safety_tolerance`` 1 to 6,
  ``prompt_upsampling``, ``seed``.
- flux-kontext-pro (0a138193) and flux-kontext-max (b94039e5): ``prompt``,
  ``input_image``, ``aspect_ratio`` (default ``match_input_image``),
  ``seed``, ``prompt_upsampling``, ``safety_tolerance`` 0 to 6 (2; "2 is
  currently the maximum allowed when input images are used": refused above
  2 with an input image).
- flux-kontext-dev (a1408d2c): ``input_image`` (required),
  ``aspect_ratio`` (``match_input_image``), ``num_inference_steps`` 4 to 50
  (30), ``guidance`` 0 to 10 (2.5), ``seed``, ``go_fast``,
  ``disable_safety_checker``.
- flux-fill-pro (9609ba73): ``image``, ``mask`` ("Black areas will be
  preserved while white areas will be inpainted. Must have the same size as
  image"), ``steps`` 1 to 50 (50), ``guidance`` 2 to 5 (3),
  ``safety_tolerance`` 1 to 6, ``prompt_upsampling``, ``seed``.
- flux-2-pro (00b07c32) and flux-2-max (9c23b0aa): ``input_images`` ("Maximum
  8 images"), ``aspect_ratio`` (1:1; with ``match_input_image`` and
  ``custom``), ``width``/``height`` 256 to 2048 with ``custom`` (multiples of
  16), ``safety_tolerance`` 1 to 5, ``seed``. flux-2-flex (74299cd6) adds
  ``steps`` (1 to 50), ``guidance`` (1.5 to 10) and ``prompt_upsampling``
  (default true) and takes 10 images, sized in multiples of 32. flux-2-dev
  (7bba46bd): 4 images, ``go_fast``, sizes 256 to 1440 in multiples of 32,
  ``disable_safety_checker``.
- flux-3-image (version ec84b8fb; the model page
  replicate.com/black-forest-labs/flux-3-image): ``prompt``, ``images`` ("up
  to 10 reference images (jpeg, png, gif, or webp)", "at least 256x256 px and
  at most 16 MP"), ``aspect_ratio`` (auto, then 21:9 down to 9:21),
  ``resolution`` 768sq, 1k, 1.5k, 2k or 4k (1k), ``grounding`` (true),
  ``safety_tolerance`` 0 to 4 (2), ``output_format``, ``output_quality``. No
  seed. Boxes go into the prompt as Black Forest Labs documents; the output
  is one URL, so the expanded prompt Black Forest Labs returns is not seen.
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
from .._request import GenerationRequest
from .._spec import (
    FLUX3_RESOLUTION,
    GROUNDING,
    NUM_IMAGES,
    PROMPT,
    PROMPT_UPSAMPLING,
    SAFETY_CHECKER,
    SEED,
    UPSAMPLING_VARIES,
    Caveat,
    ImageLimits,
    ParamSpec,
    aspect_ratio,
    check_table,
    choice,
    fill_inputs,
    flux3_image,
    guidance,
    image,
    image_prompt,
    interval,
    model,
    prompt_upsampling,
    references,
    safety_tolerance,
    seed,
    size,
    steps,
)
from ._base import Call, HostedProvider, Outputs, Progress, Reply

KEY_ENV = "REPLICATE_API_TOKEN"
DEFAULT_URL = "https://api.replicate.com"
#: How long the create call is held open (Replicate allows 1 to 60 seconds):
#: long enough for most generations to come back in one call, short enough
#: that a slow one moves on to polling, where Cancel can stop it.
WAIT = 10

_COG_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_PRO_RATIOS = ("custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_HELP = "Shape of the image, as width:height (Replicate sizes it to about one megapixel)."
_CUSTOM = ("aspect_ratio", "custom")
_GO_FAST = ParamSpec(
    "go_fast",
    "boolean",
    "Go fast",
    "Replicate's faster fp8 path. Its images are not the same for the same seed; "
    "turn it off (bf16) to reproduce an image exactly.",
    default=True,
)
_MEGAPIXELS = choice(
    "megapixels", "Megapixels", "About how many megapixels the image has.", ("1", "0.25"), "1"
)
_COG_SEED = seed(1, "Replicate reads 0 as no seed, so seeds start at 1.")
_NOT_DETERMINISTIC = Caveat(
    "With go_fast on, Replicate does not promise the same image for the same seed "
    "and settings; turn go_fast off to reproduce an image exactly.",
    {"go_fast": True},
)


def _cog(id: str, *params: ParamSpec) -> Any:
    return model(
        id,
        PROMPT,
        NUM_IMAGES,
        aspect_ratio(_COG_RATIOS, "1:1", "Aspect ratio", _HELP),
        _COG_SEED,
        *params,
        _GO_FAST,
        _MEGAPIXELS,
        SAFETY_CHECKER,
        caveats=(_NOT_DETERMINISTIC,),
        batch_seeds="batch",
    )


#: "Must be jpeg, png, gif, or webp"; uploads up to 100 MB.
_LIMITS = ImageLimits(("jpeg", "png", "gif", "webp"), max_bytes=100_000_000)
#: Inputs at or above this size are uploaded, smaller ones sent as data URIs.
DATA_URI_MAX = 1_000_000
_MATCH = "match_input_image"
_KONTEXT_RATIOS = (
    _MATCH,
    "1:1",
    "16:9",
    "21:9",
    "3:2",
    "2:3",
    "4:5",
    "5:4",
    "3:4",
    "4:3",
    "9:16",
    "9:21",
)
_FLUX2_RATIOS = (_MATCH, "custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_INPUT = image(
    "input_image",
    "Input image",
    "The image to edit. Leave it empty to make a new image from the prompt.",
    _LIMITS,
    urls=True,
)


def _kontext_ratio(default: str = _MATCH) -> ParamSpec:
    return aspect_ratio(
        _KONTEXT_RATIOS,
        default,
        "Aspect ratio",
        "Shape of the result; match_input_image keeps the input image's shape.",
    )


def _flux2(id: str, most: int, high: int, multiple: int, *extra: ParamSpec, **kw: Any) -> Any:
    return model(
        id,
        PROMPT,
        references(_LIMITS, most),
        aspect_ratio(
            _FLUX2_RATIOS, "1:1", "Aspect ratio", _HELP + " 'custom' takes a width and height."
        ),
        size("width", 256, high, multiple, 1024, _CUSTOM),
        size("height", 256, high, multiple, 1024, _CUSTOM),
        SEED,
        *extra,
        **kw,
    )


_KONTEXT = (
    PROMPT,
    _INPUT,
    _kontext_ratio(),
    SEED,
    PROMPT_UPSAMPLING,
    safety_tolerance(2, 0, 6, most_with=("input_image", 2)),
)

MODELS = {
    "flux_schnell": _cog("flux_schnell", steps(4, 4)),
    "flux_dev": _cog("flux_dev", steps(28, 50), guidance(3.0, 0, 10)),
    "flux_pro": model(
        "flux_pro",
        PROMPT,
        aspect_ratio(
            _PRO_RATIOS, "1:1", "Aspect ratio", _HELP + " 'custom' takes a width and height."
        ),
        size("width", 256, 1440, 32, 1024, _CUSTOM),
        size("height", 256, 1440, 32, 1024, _CUSTOM),
        SEED,
        steps(25, 50),
        guidance(3.0, 2, 5),
        interval(),
        safety_tolerance(2, 1, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_pro_1_1": model(
        "flux_pro_1_1",
        PROMPT,
        image_prompt(_LIMITS, urls=True),
        aspect_ratio(
            _PRO_RATIOS, "1:1", "Aspect ratio", _HELP + " 'custom' takes a width and height."
        ),
        size("width", 256, 1440, 32, 1024, _CUSTOM),
        size("height", 256, 1440, 32, 1024, _CUSTOM),
        SEED,
        safety_tolerance(2, 1, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_kontext_pro": model("flux_kontext_pro", *_KONTEXT, caveats=(UPSAMPLING_VARIES,)),
    "flux_kontext_max": model("flux_kontext_max", *_KONTEXT, caveats=(UPSAMPLING_VARIES,)),
    "flux_kontext_dev": model(
        "flux_kontext_dev",
        PROMPT,
        image(
            "input_image", "Input image", "The image to edit.", _LIMITS, required=True, urls=True
        ),
        _kontext_ratio(),
        _COG_SEED,
        steps(30, 50, 4),
        guidance(2.5, 0, 10),
        _GO_FAST,
        SAFETY_CHECKER,
        caveats=(_NOT_DETERMINISTIC,),
    ),
    "flux_fill_pro": model(
        "flux_fill_pro",
        PROMPT,
        *fill_inputs(_LIMITS, urls=True),
        SEED,
        steps(50, 50),
        guidance(3, 2, 5),
        safety_tolerance(2, 1, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_2_pro": _flux2("flux_2_pro", 8, 2048, 16, safety_tolerance(2, 1, 5)),
    "flux_2_max": _flux2("flux_2_max", 8, 2048, 16, safety_tolerance(2, 1, 5)),
    "flux_2_flex": _flux2(
        "flux_2_flex",
        10,
        2048,
        32,
        steps(28, 50),
        guidance(4.5, 1.5, 10),
        safety_tolerance(2, 1, 5),
        prompt_upsampling(True),
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_2_dev": _flux2(
        "flux_2_dev", 4, 1440, 32, _GO_FAST, SAFETY_CHECKER, caveats=(_NOT_DETERMINISTIC,)
    ),
    "flux_3_image": flux3_image(
        ImageLimits(("jpeg", "png", "gif", "webp"), 100_000_000, max_megapixels=16, min_side=256),
        FLUX3_RESOLUTION,
        GROUNDING,
        safety_tolerance(2, 0, 4),
    ),
}
check_table(MODELS)

_SLUGS = {
    "flux_schnell": "flux-schnell",
    "flux_dev": "flux-dev",
    "flux_pro": "flux-pro",
    "flux_pro_1_1": "flux-1.1-pro",
    "flux_kontext_pro": "flux-kontext-pro",
    "flux_kontext_max": "flux-kontext-max",
    "flux_kontext_dev": "flux-kontext-dev",
    "flux_fill_pro": "flux-fill-pro",
    "flux_2_pro": "flux-2-pro",
    "flux_2_max": "flux-2-max",
    "flux_2_flex": "flux-2-flex",
    "flux_2_dev": "flux-2-dev",
    "flux_3_image": "flux-3-image",
}
#: Our parameter names -> Replicate's, by model (the rest are the same).
_COG_WIRE = {"num_images": "num_outputs", "steps": "num_inference_steps"}
_WIRE = {
    "flux_schnell": _COG_WIRE,
    "flux_dev": _COG_WIRE,
    "flux_kontext_dev": _COG_WIRE,
    "flux_3_image": {"input_images": "images"},
}
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


def _image(image: InputImage, uploaded: Any) -> str:
    """An input as Replicate takes it: a URL (its own, or the uploaded
    file's), or a data URI for a small file."""
    if image.url is not None:
        return image.url
    return uploaded.get(image.sha256) or image.data_uri()


class Replicate(HostedProvider):
    """Replicate's API. ``api_key`` defaults to ``$REPLICATE_API_TOKEN``."""

    name = "replicate"
    label = "Replicate"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    key_hosts = KEY_HOSTS
    models = MODELS
    withheld_by = "Replicate's safety filter"
    bills_withheld = False
    cancel_note = (
        "A prediction still in Replicate's first answer cannot be cancelled from "
        "here; one being polled was cancelled at Replicate."
    )

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The prediction's ``input`` (our names mapped to Replicate's)."""
        return self._input(request, {})

    def _input(self, request: GenerationRequest, uploaded: Any) -> dict[str, Any]:
        names = _WIRE.get(request.model, {})
        body: dict[str, Any] = {}
        for k, v in request.host_params.items():
            if isinstance(v, InputImage):
                v = _image(v, uploaded)
            elif isinstance(v, tuple):
                v = [_image(item, uploaded) for item in v]
            body[names.get(k, k)] = v
        if "safety_checker" in body:
            body["disable_safety_checker"] = not body.pop("safety_checker")
        body["output_format"] = "png"  # lossless originals
        return body

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
        return Call(
            "POST",
            f"{self._base}/v1/models/black-forest-labs/{_SLUGS[request.model]}/predictions",
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
            output = data.get("output")
            urls = [output] if isinstance(output, str) else output
            if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
                raise self.unreadable(reply, f"prediction {task} succeeded without output URLs")
            if len(urls) > request.count:
                raise self.unreadable(reply, f"prediction {task} returned more images than asked")
            # cog-flux leaves flagged images out of the output.
            return Outputs(urls=urls, withheld=request.count - len(urls))
        if status == "failed":
            error = str(data.get("error") or "no reason given")[:500]
            cls = ModerationError if MODERATION.search(error) else APIError
            raise cls(f"Replicate's prediction {task} failed: {error}", body=data)
        if status in ("canceled", "aborted"):
            raise FluxError(f"Replicate's prediction {task} was {status}")
        if status not in _RUNNING:
            raise self.unreadable(reply, f"prediction {task} has an unknown status {status[:80]!r}")
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
