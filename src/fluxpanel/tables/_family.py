"""The FLUX family: each model's name, description and list price, shared
by every host that offers it (a row in a host's table takes them from here
unless it says otherwise).

List prices are the hosts' published ones in late 2026, the lowest where
hosts differ; they are estimates, and the provider's bill is what counts.
Sources:

- FLUX.1 [schnell] about $0.003, [dev] $0.025, [pro] $0.05 per image (Black
  Forest Labs and Replicate).
- FLUX1.1 [pro] $0.04, [pro] Ultra $0.06, FLUX.1 Kontext [pro] $0.04 and [max]
  $0.08, FLUX.1 Fill [pro] $0.05 per image (Black Forest Labs' pricing page,
  docs.bfl.ml/quick_start/pricing; fal lists Kontext [max] at $0.08 too).
- FLUX.2 is priced by the megapixel, input images counted with the output
  (docs.bfl.ai/quick_start/pricing): [pro] 3 cents for the first megapixel
  and 1.5 for each further one, [max] 7 and 3, [flex] 5 and 5, [klein] 4B
  1.4 and 0.1, [klein] 9B 1.5 and 0.2.
- FLUX 3 Image by resolution tier: 768sq $0.041, 1k $0.048, 2k $0.10 and
  4k $0.607 per image (Black Forest Labs' list prices as Runware publishes
  them, runware.ai/docs/models/bfl-flux-3-image; fal lists 1k at $0.048,
  fal.ai/models/blackforestlabs/flux-3/edit-image); 1.5k $0.07 (a reseller
  quoting BFL's pricing page, docs.laozhang.ai flux-3-image, checked
  2026-12-03).
- FLUX 3 Image Klein by tier: 1k $0.009, 1.5k $0.011, 2k $0.014, 4k $0.036
  (the same reseller's reading of BFL's pricing page); 768sq "billed at the
  1K price" (the same page).
- FLUX 3.1 Image by mode and size: fast $0.015 at 1 megapixel, $0.04 at 4
  and $0.11 at 16; quality $0.03, $0.06 and $0.28 (fal's model pages,
  fal.ai/models/fal-ai/flux-3.1-image/llms.txt and
  fal.ai/models/blackforestlabs/flux-3.1/fast/edit-image/llms.txt, by
  resolution 1K, 2K and 4K; inference.sh/apps/bfl/flux-3-1-image gives the
  same ends, "billed at Black Forest Labs' reported cost"). Reference
  images are free.
- FLUX Erase by the megapixel: 3 cents for the first generated, 0.4 for each
  further one and for each megapixel of the input image (fal's model page,
  fal.ai/models/fal-ai/flux-pro/v1/erase/llms.txt; Runware publishes the same
  for Black Forest Labs' endpoint). The mask is not counted.
- FLUX Virtual Try-On: 3.75 cents for the first input megapixel, 0.5 for each
  further input megapixel and each output megapixel (fal's model page,
  fal.ai/models/fal-ai/flux-pro/v1/vto/llms.txt): the same sum as 3.75 cents
  for the first megapixel and 0.5 for each other, inputs and output together.
- No published price was found for FLUX Deblur and FLUX Outpainting (Black
  Forest Labs), nor for Kontext [dev], FLUX.2 [dev] and FLUX.1 [dev] with
  LoRAs (run on Replicate's and fal's own hardware), nor for FLUX.1 Expand
  [pro] (Black Forest Labs' pricing pages list Fill but not Expand) and
  FLUX.1 [pro] and FLUX1.1 [pro] Ultra with a finetune; they estimate at $0
  until set here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._pricing import PerMegapixel, PerTier, Price, UpTo
from .._spec import Status

#: Each model's name and one-line description, as every host shows them.
LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "flux_schnell": ("FLUX.1 [schnell]", "Entry-level model, optimised for speed."),
        "flux_dev": ("FLUX.1 [dev]", "Developer-focused variant with flexible parameters."),
        "flux_dev_lora": (
            "FLUX.1 [dev] LoRA",
            "FLUX.1 [dev] with your LoRAs: a style, a person or a product it has learnt.",
        ),
        "flux_pro": ("FLUX.1 [pro]", "Professional-grade model, highest quality in the series."),
        "flux_pro_finetuned": (
            "FLUX.1 [pro] Finetuned",
            "FLUX.1 [pro] with a finetune of yours, trained at the host.",
        ),
        "flux_pro_1_1": (
            "FLUX1.1 [pro]",
            "Faster and better than FLUX.1 [pro]; takes an image prompt.",
        ),
        "flux_pro_1_1_ultra": (
            "FLUX1.1 [pro] Ultra",
            "Four-megapixel images; raw mode for a natural, less processed look.",
        ),
        "flux_pro_1_1_ultra_finetuned": (
            "FLUX1.1 [pro] Ultra Finetuned",
            "Ultra with a finetune of yours, trained or uploaded at the host.",
        ),
        "flux_kontext_pro": ("FLUX.1 Kontext [pro]", "Edit an image with words, or make one."),
        "flux_kontext_max": (
            "FLUX.1 Kontext [max]",
            "Kontext's strongest model: better prompt following and typography.",
        ),
        "flux_kontext_dev": (
            "FLUX.1 Kontext [dev]",
            "Open-weights Kontext: edit an image with words.",
        ),
        "flux_fill_pro": (
            "FLUX.1 Fill [pro]",
            "Inpainting: repaint the white part of a mask over an image.",
        ),
        "flux_erase": (
            "FLUX Erase",
            "Remove what a mask covers; the scene behind it is rebuilt. No prompt.",
        ),
        "flux_deblur": (
            "FLUX Deblur",
            "Sharpen a blurry image, keeping its scene, faces and colours. No prompt.",
        ),
        "flux_vto": (
            "FLUX Virtual Try-On",
            "Dress the person of one image in the garment of another.",
        ),
        "flux_outpaint": (
            "FLUX Outpainting",
            "Place an image on a larger canvas; the rest is filled in keeping with it.",
        ),
        "flux_expand_pro": (
            "FLUX.1 Expand [pro]",
            "Outpainting: grow an image on any side, the new pixels in keeping with it.",
        ),
        "flux_2_pro": (
            "FLUX.2 [pro]",
            "FLUX.2's production model: generate, or edit with several reference images.",
        ),
        "flux_2_max": ("FLUX.2 [max]", "FLUX.2's highest quality, with several reference images."),
        "flux_2_flex": (
            "FLUX.2 [flex]",
            "FLUX.2 with steps and guidance under your control; strong on text.",
        ),
        "flux_2_dev": ("FLUX.2 [dev]", "Open-weights FLUX.2, with up to four reference images."),
        "flux_2_klein_4b": (
            "FLUX.2 [klein] 4B",
            "The smallest, fastest FLUX.2; edits with references.",
        ),
        "flux_2_klein_9b": ("FLUX.2 [klein] 9B", "Small and fast FLUX.2, a step up from 4B."),
        "flux_3_image_klein": (
            "FLUX 3 Image Klein",
            "FLUX 3's small, fast and cheap sibling: the same references and boxes.",
        ),
        "flux_3_1_image": (
            "FLUX 3.1 Image",
            "The newest FLUX: fast or quality mode, up to 16 megapixels, ten references, "
            "a mask on the first, and boxes that place or move an object.",
        ),
        "flux_3_image": (
            "FLUX 3 Image",
            "Black Forest Labs' flagship: generate, edit with words, combine up to ten "
            "references, and place each element with a box.",
        ),
    }
)

#: The families, newest first, each model newest first: the model selector's
#: groups and order (Black Forest Labs' release notes, docs.bfl.ai/release-notes).
FAMILIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("FLUX 3", ("flux_3_1_image", "flux_3_image_klein", "flux_3_image")),
    (
        "FLUX.2",
        (
            "flux_2_max",
            "flux_2_pro",
            "flux_2_flex",
            "flux_2_klein_9b",
            "flux_2_klein_4b",
            "flux_2_dev",
        ),
    ),
    ("FLUX Tools", ("flux_outpaint", "flux_vto", "flux_erase", "flux_deblur")),
    ("FLUX.1 Kontext", ("flux_kontext_max", "flux_kontext_pro", "flux_kontext_dev")),
    ("FLUX1.1", ("flux_pro_1_1_ultra", "flux_pro_1_1_ultra_finetuned", "flux_pro_1_1")),
    (
        "FLUX.1",
        (
            "flux_fill_pro",
            "flux_expand_pro",
            "flux_pro",
            "flux_pro_finetuned",
            "flux_dev",
            "flux_dev_lora",
            "flux_schnell",
        ),
    ),
)
#: What each family is for, as the selector's groups say it (people choose a
#: model by the task at hand).
TASKS: Mapping[str, str] = MappingProxyType(
    {
        "FLUX 3": "make, edit, place with boxes",
        "FLUX.2": "make, or edit with references",
        "FLUX Tools": "extend, try on, remove, sharpen",
        "FLUX.1 Kontext": "edit an image with words",
        "FLUX1.1": "make an image, with a finetune too",
        "FLUX.1": "make, with LoRAs or a finetune; repaint or grow an image",
    }
)
#: Each model's group in the selector (its family, and what it is for) and
#: its place there, by model id.
PLACES: Mapping[str, tuple[str, int]] = MappingProxyType(
    {
        model: (f"{family}: {TASKS[family]}", rank)
        for rank, (family, model) in enumerate(
            (family, model) for family, models in FAMILIES for model in models
        )
    }
)

_KONTEXT = (
    "docs.bfl.ai, FLUX.1 Kontext [pro] API reference: 'a legacy editing model. For new "
    "integrations, use FLUX.2 [pro]'"
)
_TOOLS = (
    "black-forest-labs/blackforest CHANGELOG 0.2.0: 'the legacy flux-pro-1.0-fill / -expand "
    "tool endpoints (replaced by the FLUX Tools)'; docs.bfl.ai no longer lists them"
)
#: Where its maker says a model stands, wherever it is served (a host's row
#: may say otherwise: retired there, with the date and the source). Every
#: model not named here is current; no retirement by Black Forest Labs, with
#: a date, was found.
STATUSES: Mapping[str, Status] = MappingProxyType(
    {
        "flux_kontext_pro": Status("legacy", instead="FLUX.2 [pro]", source=_KONTEXT),
        "flux_kontext_max": Status("legacy", instead="FLUX.2 [max]", source=_KONTEXT),
        "flux_fill_pro": Status("legacy", instead="FLUX Erase, or FLUX.2 [pro]", source=_TOOLS),
        "flux_expand_pro": Status("legacy", instead="FLUX Outpainting", source=_TOOLS),
    }
)

#: US dollars per image (or a :class:`PerMegapixel` or :class:`PerTier`), by model id.
PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "flux_schnell": 0.003,
        "flux_dev": 0.025,
        "flux_pro": 0.05,
        "flux_pro_1_1": 0.04,
        "flux_pro_1_1_ultra": 0.06,
        "flux_kontext_pro": 0.04,
        "flux_kontext_max": 0.08,
        "flux_fill_pro": 0.05,
        "flux_erase": PerMegapixel(0.03, 0.004),
        "flux_vto": PerMegapixel(0.0375, 0.005),
        "flux_2_pro": PerMegapixel(0.03, 0.015),
        "flux_2_max": PerMegapixel(0.07, 0.03),
        "flux_2_flex": PerMegapixel(0.05, 0.05),
        "flux_2_klein_4b": PerMegapixel(0.014, 0.001),
        "flux_2_klein_9b": PerMegapixel(0.015, 0.002),
        "flux_3_image": PerTier(
            "resolution",
            MappingProxyType({"768sq": 0.041, "1k": 0.048, "1.5k": 0.07, "2k": 0.10, "4k": 0.607}),
            "1k",
        ),
        "flux_3_1_image": PerTier(
            "mode",
            MappingProxyType(
                {
                    "fast": UpTo(((1, 0.015), (4, 0.04), (16, 0.11))),
                    "quality": UpTo(((1, 0.03), (4, 0.06), (16, 0.28))),
                }
            ),
            "quality",
        ),
        "flux_3_image_klein": PerTier(
            "resolution",
            MappingProxyType(
                {"768sq": 0.009, "1k": 0.009, "1.5k": 0.011, "2k": 0.014, "4k": 0.036}
            ),
            "1k",
        ),
    }
)
