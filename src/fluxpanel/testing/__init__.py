"""Test helpers: loopback servers that speak the providers' APIs."""

from ._reference import API_FAULTS, IMAGE_FAULTS, Recorded, ReferenceServer, bomb_png, solid_png

__all__ = ["API_FAULTS", "IMAGE_FAULTS", "Recorded", "ReferenceServer", "bomb_png", "solid_png"]
