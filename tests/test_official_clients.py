"""The fakes speak each host's protocol as its official client expects: the
official ``replicate`` package runs predictions against FakeReplicate (held
and polled) unchanged, pointed at it through its documented ``base_url``;
``fal-client`` runs against FakeFal over TLS, through its documented host
settings."""

from __future__ import annotations

import gc

import httpx
import pytest
import replicate  # the bench extra, part of the dev install

from fluxpanel.testing import FakeFal, FakeReplicate


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


FAL_RUN = """\
import json, fal_client
out = fal_client.SyncClient(key={key!r}).subscribe(
    "fal-ai/flux/dev", arguments={{"prompt": "a fox", "seed": 5, "output_format": "png"}}
)
print(json.dumps(out))
"""


def test_the_official_fal_client_runs_against_the_fake_over_tls(tmp_path):
    """fal-client speaks only https, to the hosts in FAL_RUN_HOST and
    FAL_QUEUE_RUN_HOST (read on import): the fake serves TLS with a
    certificate the client trusts through SSL_CERT_FILE."""
    import json
    import os
    import ssl
    import subprocess
    import sys

    import trustme  # the bench extra, part of the dev install

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    fake = FakeFal(queue_polls=2).start(ssl_context=context)
    try:
        host = fake.base_url.removeprefix("https://")
        env = {**os.environ, "SSL_CERT_FILE": str(bundle), "FAL_RUN_HOST": host}
        env["FAL_QUEUE_RUN_HOST"] = host
        run = subprocess.run(
            [sys.executable, "-c", FAL_RUN.format(key=fake.api_key)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        out = json.loads(run.stdout)
        image = httpx.get(out["images"][0]["url"], verify=ssl.create_default_context(cafile=bundle))
        assert image.content.startswith(b"\x89PNG") and out["seed"] == 5
        assert fake.submits[0].path == "/fal-ai/flux/dev" and len(fake.polls) >= 2
    finally:
        fake.stop()
