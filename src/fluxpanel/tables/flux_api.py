"""The FLUX API of the page this project started from: its three models.

Source: ``../shared/API_CONTRACT.md`` (docs/site/api-contract.md), our
reading of the provider's API page: ``aspect_ratio`` is a size written out
(``1024x1024``, ``768x1344``, ``1344x768``), ``num_images`` 1 to 4 for
[dev] and [schnell], steps (schnell 1 to 4, default 4; dev 1 to 50, 28; pro
1 to 50, 25), guidance (pro 2 to 5, default 3; dev 0 to 10, 3.5), interval
(pro, 1 to 4, 2) and safety tolerance (pro, 1 to 6, 2). The request's JSON
is the body sent (:meth:`fluxpanel.GenerationRequest.to_payload`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._sizes import Named
from .._spec import ModelSpec, check_table
from ._params import (
    ASPECT_RATIO,
    NUM_IMAGES,
    PROMPT,
    SEED,
    guidance,
    interval,
    model,
    safety_tolerance,
    steps,
)

#: The sizes are written out: ``1024x768``.
SIZE = Named()

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_schnell": model(
            "flux_schnell", PROMPT, NUM_IMAGES, ASPECT_RATIO, SEED, steps(4, 4), size=SIZE
        ),
        "flux_dev": model(
            "flux_dev",
            PROMPT,
            NUM_IMAGES,
            ASPECT_RATIO,
            SEED,
            steps(28, 50),
            guidance(3.5, 0, 10),
            size=SIZE,
        ),
        "flux_pro": model(
            "flux_pro",
            PROMPT,
            ASPECT_RATIO,
            SEED,
            steps(25, 50),
            guidance(3.0, 2, 5),
            interval(),
            safety_tolerance(2, 1, 6),
            size=SIZE,
        ),
    }
)
check_table(MODELS)
