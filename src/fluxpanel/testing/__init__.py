"""Test helpers: loopback servers that speak the providers' APIs. No test
of fluxpanel reaches beyond 127.0.0.1."""

from ._artifacts import artifacts_dir
from ._bfl import BFL_FAULTS, FakeBFL
from ._fal import FAL_FAULTS, FakeFal
from ._reference import API_FAULTS, ReferenceServer
from ._replicate import REPLICATE_FAULTS, FakeReplicate
from ._server import (
    IMAGE_FAULTS,
    HostRoutes,
    LoopbackServer,
    Recorded,
    bomb_png,
    seeded_png,
    solid_png,
)

__all__ = [
    "API_FAULTS",
    "BFL_FAULTS",
    "FAL_FAULTS",
    "IMAGE_FAULTS",
    "REPLICATE_FAULTS",
    "FakeBFL",
    "FakeFal",
    "FakeReplicate",
    "HostRoutes",
    "LoopbackServer",
    "Recorded",
    "ReferenceServer",
    "artifacts_dir",
    "bomb_png",
    "seeded_png",
    "solid_png",
]
