"""The preview's placeholders: a drawing that says plainly it is not a
generated image, showing the prompt (or the model's name), the model and the
seed, over an edit's input where there is one (with a mask only the masked
part changes, filled in from around it for FLUX Erase; an image grown or
placed on a canvas keeps its pixels where it lies; FLUX Deblur's input comes
back sharpened), with FLUX 3's boxes drawn where they are and the other
input images along the top. The same request always gives the same bytes.
"""

from __future__ import annotations

import io
import random
import textwrap
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps, ImageStat

from .._kinds import KINDS
from .._loras import labelled
from .._request import COUNT, GenerationRequest


def draw(request: GenerationRequest, index: int = 0) -> bytes:
    """A deterministic PNG for ``request``: colours and shapes follow the seed."""
    image = _background(request, index)
    source, mask = _inputs(request)
    if source is not None:
        image = _over_input(request, image, source, mask)
    unit = max(14, request.size[0] // 40)
    body = ImageFont.load_default(size=unit)
    _label(request, index, image, unit)
    boxes = _boxes(request)
    if boxes:
        _moved(request, image, boxes)
        image = _draw_boxes(image.convert("RGBA"), boxes, body, unit)
    _draw_references(image, _references(request, source), body, unit, top=unit * 4)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()


def _background(request: GenerationRequest, index: int) -> Any:
    """A diagonal two-colour gradient with soft circles, by the seed."""
    width, height = request.size
    rng = random.Random(f"{request.seed}:{index}:{request.model}")

    def colour() -> tuple[int, int, int]:
        return (rng.randrange(40, 220), rng.randrange(40, 220), rng.randrange(40, 220))

    # Drawn small and scaled up: cheap and smooth.
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270)))
    base = ImageOps.colorize(ramp.resize((width, height)), colour(), colour())
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for _ in range(6):
        r = rng.randrange(min(width, height) // 10, min(width, height) // 3)
        x, y = rng.randrange(width), rng.randrange(height)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(*colour(), 90))
    return Image.alpha_composite(base.convert("RGBA"), layer)


def _over_input(request: GenerationRequest, image: Any, source: Any, mask: Any) -> Any:
    """The drawing over an edit's input: around it when it was grown or
    placed on a canvas, else over its masked part (or FLUX 3's boxes), over
    all of it lightly, or instead of it (erased, deblurred)."""
    width, height = image.size
    corner = _placed(request, source)
    if corner is not None:
        # The image as it was (cropped at the edges), the new drawing around it.
        picture = _open(source).convert("RGBA")
        under = Image.new("RGBA", (width, height))
        under.paste(picture, corner)
        kept = Image.new("L", (width, height), 255)
        x, y = corner
        ImageDraw.Draw(kept).rectangle(
            (x, y, x + picture.width - 1, y + picture.height - 1), fill=0
        )
        return Image.composite(image, under, kept)
    under = ImageOps.fit(_open(source).convert("RGBA"), (width, height))
    boxes = _boxes(request)
    region = None
    if mask is not None:
        region = ImageOps.fit(_open(mask).convert("L"), (width, height))
    elif any(p.alpha_mask for p in request.spec.params.values()):
        # FLUX.1 Fill with no mask: the image's transparent areas are repainted.
        alpha = _open(source).convert("RGBA").getchannel("A")
        region = ImageOps.fit(ImageOps.invert(alpha), (width, height))
    elif boxes:
        region = Image.new("L", (width, height), 0)
        for b in boxes:
            ImageDraw.Draw(region).rectangle(
                (
                    b.left * width // 1000,
                    b.top * height // 1000,
                    b.right * width // 1000,
                    b.bottom * height // 1000,
                ),
                fill=255,
            )
    prompted = request.spec.role("prompt") is not None
    if region is not None and prompted:
        return Image.composite(image, under, region)
    if region is not None:  # FLUX Erase: the masked part filled in from around it
        return _erased(under, region, request.params.get("dilate_pixels") or 0)
    if not prompted:  # FLUX Deblur: the input, sharpened
        return under.filter(ImageFilter.UnsharpMask(radius=4, percent=160, threshold=2))
    return Image.blend(under, image, 0.35)


def _label(request: GenerationRequest, index: int, image: Any, unit: int) -> None:
    """The banner that says it is a placeholder, and the prompt and
    parameters along the bottom."""
    width, height = image.size
    draw = ImageDraw.Draw(image, "RGBA")
    big = ImageFont.load_default(size=unit * 2)
    body = ImageFont.load_default(size=unit)
    pad = unit
    draw.rectangle((0, 0, width, unit * 3 + pad), fill=(20, 20, 20, 200))
    draw.text((pad, pad // 2 + 4), "PREVIEW", font=big, fill=(255, 214, 0, 255))
    draw.text(
        (pad + unit * 9, pad // 2 + unit // 2 + 4),
        "placeholder, not a FLUX image",
        font=body,
        fill=(230, 230, 230, 255),
    )
    chars = max(20, int(width / (unit * 0.55)))
    lines = textwrap.wrap(request.caption.replace("\n", " "), chars)[:6]
    if len(textwrap.wrap(request.caption, chars)) > 6:
        lines[-1] = lines[-1][: chars - 1] + "…"
    params = [request.model + ("" if request.seed is None else f"  seed {request.seed}")]
    shown = {n for n, p in request.spec.params.items() if not (p.role or p.random or p.backdrop)}
    params.append(
        "  ".join(
            f"{k} {labelled(v) or v}"
            for k, v in request.params.items()
            if k in shown and k != COUNT and k not in request.inputs
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


def _boxes(request: GenerationRequest) -> Any:
    """FLUX 3's boxes of the request (the parameter drawn over its references)."""
    return next((request.params.get(n) for n, p in request.spec.params.items() if p.backdrop), ())


def _moved(request: GenerationRequest, image: Any, boxes: Any) -> None:
    """Each object a box moves (FLUX 3.1 Image), cut from where it is in its
    reference and put where the box is (in place)."""
    spec = next(p for p in request.spec.params.values() if p.backdrop)
    references = request.params.get(spec.backdrop[0]) or ()  # type: ignore[index]
    width, height = image.size
    for box in boxes:
        if not box.moves or box.image > len(references):
            continue
        reference = references[box.image - 1]
        if reference.url is not None:
            continue
        picture = _open(reference).convert("RGBA")
        top, left, bottom, right = box.source
        w, h = picture.size
        cut = picture.crop(
            (left * w // 1000, top * h // 1000, right * w // 1000, bottom * h // 1000)
        )
        x0, y0 = box.left * width // 1000, box.top * height // 1000
        size = (
            max(1, (box.right - box.left) * width // 1000),
            max(1, (box.bottom - box.top) * height // 1000),
        )
        image.paste(cut.resize(size), (x0, y0))


#: Outline colours for boxes, one after another (readable on any placeholder).
_BOX_COLOURS = ((255, 214, 0), (0, 200, 255), (255, 110, 180), (120, 255, 120), (255, 150, 60))


def _draw_boxes(image: Any, boxes: Any, font: Any, unit: int) -> Any:
    """Each box where the host would put it (0-1000 of each side), outlined
    over a light tint, with its name and description inside."""
    width, height = image.size
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    for i, box in enumerate(boxes):
        colour = _BOX_COLOURS[i % len(_BOX_COLOURS)]
        x0, y0 = box.left * width / 1000, box.top * height / 1000
        x1, y1 = box.right * width / 1000 - 1, box.bottom * height / 1000 - 1
        draw.rectangle((x0, y0, x1, y1), fill=(*colour, 40), outline=(*colour, 255), width=3)
        chars = max(8, int((x1 - x0) / (unit * 0.55)))
        name = f"<{box.name}>" + (f" from image {box.image}" if box.moves else "")
        lines = [name, *textwrap.wrap(box.desc, chars)[:3]]
        for j, text in enumerate(lines):
            y = y0 + 4 + j * unit * 1.25
            if y + unit > y1:
                break
            draw.rectangle(
                (x0 + 3, y, x0 + 6 + font.getlength(text), y + unit * 1.2), (0, 0, 0, 150)
            )
            draw.text(
                (x0 + 5, y), text[:chars], font=font, fill=(*colour, 255) if j == 0 else "white"
            )
    return Image.alpha_composite(image, layer)


def _erased(under: Any, region: Any, grow: int) -> Any:
    """``under`` with the white of ``region`` (grown by about ``grow`` pixels)
    filled in from the pixels around it: blurred outward in a few passes, a
    cheap stand-in for a model rebuilding the scene."""
    if grow:
        region = region.filter(ImageFilter.GaussianBlur(grow / 2)).point(
            lambda v: 255 if v > 8 else 0
        )
    keep = ImageOps.invert(region.point(lambda v: 255 if v > 127 else 0))
    mean = (128, 128, 128)  # all masked: nothing around to fill from
    if keep.getbbox():
        mean = tuple(int(c) for c in ImageStat.Stat(under.convert("RGB"), keep).mean)
    filled = Image.composite(under, Image.new("RGBA", under.size, (*mean, 255)), keep)
    for radius in (48, 24, 12, 6, 3):
        filled = Image.composite(under, filled.filter(ImageFilter.GaussianBlur(radius)), keep)
    return filled


def _placed(request: GenerationRequest, source: Any) -> tuple[int, int] | None:
    """Where ``source`` sits on the result, when the result is it grown
    (Expand's sides) or placed on a canvas (Outpainting); ``None`` otherwise."""
    p = request.params
    if source is None:
        return None
    grown = request.spec.size.placed(p)
    if grown is not None:
        return grown
    for spec in request.spec.params.values():
        if spec.canvas is not None and p.get(spec.name) is source:
            return spec.canvas.place(p, source.width, source.height)
    return None


def _inputs(request: GenerationRequest) -> tuple[Any, Any]:
    """The image an edit starts from (the first local input) and its mask."""
    source = mask = None
    for name, value in request.inputs.items():
        first = value[0] if isinstance(value, tuple) else value
        if first.url is not None:
            continue
        if request.spec.params[name].mask_of:
            mask = first
        elif source is None:
            source = first
    return source, mask


def _references(request: GenerationRequest, source: Any) -> list[tuple[str, Any]]:
    """The other images the request draws from (after the one edited), each
    with the name the prompt gives it ("image 2", ...)."""
    out = []
    for name, value in request.inputs.items():
        p = request.spec.params[name]
        if p.mask_of:
            continue
        items = value if isinstance(value, tuple) else (value,)
        for i, item in enumerate(items):
            if item is source or item.url is not None:
                continue
            out.append((KINDS[p.kind].cited(p, i), item))
    return out


def _draw_references(
    image: Any, refs: list[tuple[str, Any]], font: Any, unit: int, top: int
) -> None:
    """Small copies of ``refs`` along the top right, each with its name."""
    if not refs:
        return
    width, _ = image.size
    side = max(48, width // 7)
    draw = ImageDraw.Draw(image, "RGBA")
    shown = refs[:6]
    # In reading order (image 2, image 3, ...), the last ending at the right edge.
    x = width - unit - len(shown) * side - (len(shown) - 1) * (unit // 2)
    for label, item in shown:
        y = top + unit // 2
        thumb = ImageOps.fit(_open(item).convert("RGBA"), (side, side))
        image.paste(thumb, (x, y), thumb)
        draw.rectangle((x, y, x + side - 1, y + side - 1), outline=(255, 255, 255, 230), width=2)
        draw.rectangle((x, y + side, x + side, y + side + int(unit * 1.3)), fill=(20, 20, 20, 200))
        draw.text((x + 4, y + side + 2), label, font=font, fill=(255, 255, 255, 255))
        x += side + unit // 2


def _open(image: Any) -> Any:
    return Image.open(io.BytesIO(image.data))
