"""``Preview``: an offline provider that draws placeholders.

No network, no key, no cost. The same request always gives the same bytes, and
every image says plainly that it is a preview and shows the prompt, model and
seed, so teaching demos, docs and CI run without an account.
"""

from __future__ import annotations

import io
import random
import textwrap

from .._request import GenerationRequest
from .._spec import MODELS
from ._base import Provider


class Preview(Provider):
    """Placeholder images made on this machine. ``delay`` (seconds per image)
    imitates a remote model's pace for demos."""

    name = "preview"
    label = "Preview (offline placeholders)"
    models = MODELS
    offline = True

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = float(delay)

    @property
    def endpoint(self) -> str:
        return "preview:"

    def render(self, request: GenerationRequest, index: int) -> bytes:
        return draw_placeholder(request, index)

    def __repr__(self) -> str:
        return f"Preview(delay={self.delay})" if self.delay else "Preview()"


def draw_placeholder(request: GenerationRequest, index: int = 0) -> bytes:
    """A deterministic PNG for ``request``: colours and shapes follow the seed."""
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    width, height = request.size
    rng = random.Random(f"{request.seed}:{index}:{request.model}")

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220))

    # A diagonal two-colour gradient, drawn small and scaled up: cheap and smooth.
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    base = ImageOps.colorize(ramp.resize((width, height)), colour(), colour())
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(6):
        r = rng.randrange(min(width, height) // 10, min(width, height) // 3)
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour(), 90))
    image = Image.alpha_composite(base.convert("RGBA"), layer)

    draw = ImageDraw.Draw(image, "RGBA")
    unit = max(14, width // 40)
    big = ImageFont.load_default(size=unit * 2)
    body = ImageFont.load_default(size=unit)
    pad = unit
    # Banner: this is not a generated image.
    draw.rectangle((0, 0, width, unit * 3 + pad), fill=(20, 20, 20, 200))
    draw.text((pad, pad // 2 + 4), "PREVIEW", font=big, fill=(255, 214, 0, 255))
    draw.text(
        (pad + unit * 9, pad // 2 + unit // 2 + 4),
        "placeholder, not a FLUX image",
        font=body,
        fill=(230, 230, 230, 255),
    )
    # Prompt and parameters, bottom panel.
    chars = max(20, int(width / (unit * 0.55)))
    lines = textwrap.wrap(request.prompt.replace("\n", " "), chars)[:6]
    if len(textwrap.wrap(request.prompt, chars)) > 6:
        lines[-1] = lines[-1][: chars - 1] + "…"
    params = [f"{request.model}  seed {request.seed}"]
    params.append(
        "  ".join(
            f"{k} {v}"
            for k, v in request.params.items()
            if k not in ("prompt", "seed", "num_images")
        )
    )
    if request.count > 1:
        params[0] += f"  image {index + 1} of {request.count}"
    block = [*lines, "", *params]
    line_h = int(unit * 1.35)
    top = height - pad - line_h * len(block)
    draw.rectangle((0, top - pad, width, height), fill=(20, 20, 20, 190))
    for i, text in enumerate(block):
        fill = (255, 255, 255, 255) if i < len(lines) else (200, 200, 200, 255)
        draw.text((pad, top + i * line_h), text, font=body, fill=fill)

    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()
