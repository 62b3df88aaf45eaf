"""Nothing secret leaks: keys read from files, escaped forms of a key in a
host's answer, keys offered to plain http or to neighbours, credentials in a
base URL."""

from __future__ import annotations

import json
import pickle
from urllib.parse import quote

import pytest

import fluxpanel
from fluxpanel._keys import may_send_key
from fluxpanel.providers import BlackForestLabs, Fal, FluxAPI, Replicate
from fluxpanel.testing import FakeBFL, HostRoutes

from ..conftest import FAST_RETRY

HOSTED = [BlackForestLabs, Replicate, Fal]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r", " ", "\t\n"])
def test_a_key_read_from_a_file_works_and_is_sent_clean(server, ending):
    with fluxpanel.FluxClient(
        api_key=server.api_key + ending, url=server.url, cache=False, retry=FAST_RETRY
    ) as c:
        c.generate(prompt="a fox")
    assert server.posts[-1].headers["Authorization"] == f"Bearer {server.api_key}"


@pytest.mark.parametrize("cls", [*HOSTED, FluxAPI])
def test_a_key_with_a_line_break_inside_is_refused_without_showing_it(cls):
    key = "sk-live-1234\r\nX-Injected: yes"
    kwargs = {"url": "https://api.example.com/v1"} if cls is FluxAPI else {}
    with pytest.raises(fluxpanel.ConfigError) as e:
        cls(api_key=key, **kwargs)
    text = str(e.value)
    assert "line break" in text and "sk-live" not in text and "Injected" not in text
    clean = cls(api_key="  sk-live-1234\n", **kwargs)
    assert clean.keys.secrets[0] == "sk-live-1234"


def test_every_form_of_the_key_is_scrubbed_from_errors_and_the_panel(server):
    key = "sk+abc/def=ghi_1234"
    forms = [key, quote(key, safe=""), json.dumps(key)[1:-1]]
    body = {"detail": "key " + " | ".join(forms) + " is not valid"}
    server.api_key = key
    server.answer("POST", r"^/v1/generate$", body, status=401)
    client = fluxpanel.AsyncFluxClient(api_key=key, url=server.url, cache=False)
    panel = fluxpanel.FluxPanel(client=client, prompt="x")
    import asyncio

    async def run():
        with pytest.raises(fluxpanel.AuthError) as e:
            await panel.agenerate()
        return e.value

    error = asyncio.run(run())
    for form in forms:
        assert form not in str(error)
        assert form not in json.dumps(error.body)
        assert form not in json.dumps(panel.error)
    assert "[redacted]" in str(error)


def test_a_request_that_could_not_be_written_says_not_sent():
    import httpx

    from fluxpanel._retry import transport_error

    error = transport_error(
        httpx.LocalProtocolError("Illegal header value b'Bearer secret\\n'"), True
    )
    assert "was not sent" in str(error) and "secret" not in str(error)


@pytest.mark.parametrize(
    ("url", "base", "ok"),
    [
        ("http://api.example.com/poll", "https://api.example.com", False),  # downgrade
        ("https://api.example.com:8443/poll", "https://api.example.com", False),  # port
        ("https://evil.co.uk/poll", "https://api.flux.co.uk", False),  # shares co.uk
        ("https://flux.co.uk.evil.com/poll", "https://flux.co.uk", False),
        ("http://127.0.0.2:8000/poll", "http://127.0.0.1:8000", False),  # "0.0.1"
        ("http://127.0.0.1:9000/poll", "http://127.0.0.1:8000", False),
        ("http://127.0.0.1:8000/poll", "http://127.0.0.1:8000", True),
        ("https://api.example.com/poll", "https://api.example.com", True),
    ],
)
def test_where_a_key_may_go(url, base, ok):
    assert may_send_key(url, base) is ok


@pytest.mark.anyio
async def test_a_plain_http_polling_url_gets_no_key():
    with FakeBFL(pending_polls=0) as fake:
        fake.public_url = "https://api.bfl.ai"
        fake.polling_base = "http://api.bfl.ai"  # a downgrade, on the API's own host
        routes = HostRoutes({"https://api.bfl.ai": fake, "http://api.bfl.ai": fake})
        client = fluxpanel.AsyncFluxClient(
            provider=BlackForestLabs(api_key=fake.api_key), transport=routes, cache=False
        )
        with pytest.raises(fluxpanel.APIError, match="key was not sent"):
            await client.generate(model="flux_dev", prompt="x")
        await client.aclose()
    assert [s for s in routes.seen if s[0].startswith("http://")] == []


@pytest.mark.anyio
@pytest.mark.parametrize("cls", HOSTED)
async def test_credentials_in_a_base_url_are_shown_nowhere(cls, tmp_path):
    from fluxpanel.testing import FakeFal, FakeReplicate

    fake_cls = {BlackForestLabs: FakeBFL, Replicate: FakeReplicate, Fal: FakeFal}[cls]
    secret = "proxy-secret-7731"
    with fake_cls() as fake:
        base = fake.base_url.replace("http://", f"http://gateway-user:{secret}@")
        provider = cls(api_key=fake.api_key, base_url=base)
        client = fluxpanel.AsyncFluxClient(provider=provider, cache=tmp_path / "cache")
        model = next(iter(provider.models))
        panel = fluxpanel.FluxPanel(client=client, model=model, prompt="x", seed=2)
        places = {"repr": repr(provider) + repr(client), "code trait": panel.code}
        try:
            gen = await panel.agenerate()
        except fluxpanel.FluxError as e:
            # Replicate and fal put their key in Authorization, which the URL's
            # user info replaces: the fake refuses, and says so without the secret.
            assert cls is not BlackForestLabs
            places["error"] = str(e) + json.dumps(panel.error)
        else:
            folder = gen.save(tmp_path / "export")
            places.update(
                {
                    "generation": repr(gen) + gen.endpoint,
                    "snippet": gen.to_code(),
                    "result code": panel.result_code,
                    "static html": panel._static_html(),
                    "manifest": folder.read_text(),
                    "cache": b"".join(
                        p.read_bytes() for p in (tmp_path / "cache").rglob("*.entry")
                    ).decode("latin-1"),
                    "pickle": pickle.dumps(gen.request).decode("latin-1"),
                }
            )
        assert provider.endpoint == fake.base_url
        await client.aclose()
    for where, text in places.items():
        assert secret not in text, where
        assert "gateway-user" not in text, where
    assert secret in provider.keys.secrets
