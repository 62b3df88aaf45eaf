"""The fakes speak each host's protocol as its official client expects: the
official ``replicate`` package runs predictions against FakeReplicate (held
and polled) unchanged, pointed at it through its documented ``base_url``."""

from __future__ import annotations

import gc

import httpx
import pytest
import replicate  # the bench extra, part of the dev install

from fluxpanel.testing import FakeReplicate


# The official client keeps its httpx connections until it is collected; they
# are collected here, not in whichever test runs next.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("polls", [0, 2])
def test_the_official_replicate_client_runs_against_the_fake(polls):
    with FakeReplicate(processing_polls=polls) as fake:
        client = replicate.Client(api_token=fake.api_key, base_url=fake.base_url)
        out = client.run(
            "black-forest-labs/flux-schnell",
            input={"prompt": "a fox", "num_outputs": 2, "seed": 5, "output_format": "png"},
        )
        images = [httpx.get(str(url)).content for url in out]
        assert len(images) == 2 and all(i.startswith(b"\x89PNG") for i in images)
        held = fake.requests[0]
        assert held.headers.get("Prefer", "").startswith("wait")
        assert len([r for r in fake.requests if "/v1/predictions/" in r.path]) == polls
        bad = replicate.Client(api_token="wrong", base_url=fake.base_url)
        with pytest.raises(replicate.exceptions.ReplicateError):
            bad.run("black-forest-labs/flux-schnell", input={"prompt": "a fox"})
        del client, bad
        gc.collect()
