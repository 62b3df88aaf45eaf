"""Where the test suite keeps what it saw (screenshots, exported notebooks):
outside the checkout, so a test run leaves the repository as it found it."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

#: Environment variable that moves the artifacts (CI may point it at its upload folder).
ARTIFACTS_ENV = "FLUXPANEL_TEST_ARTIFACTS"


def artifacts_dir() -> Path:
    """The folder for test artifacts: ``$FLUXPANEL_TEST_ARTIFACTS``, else
    ``test-artifacts`` in fluxpanel's folder of the user's cache."""
    env = os.environ.get(ARTIFACTS_ENV)
    if env:
        return Path(env)

    return Path(platformdirs.user_cache_dir("fluxpanel", appauthor=False)) / "test-artifacts"
