"""The key never appears in a repr, a snippet or an exception message."""

from __future__ import annotations

import pickle

import pytest

import fluxpanel


def test_key_not_in_reprs_or_snippets(server, client):
    g = client.generate(model="flux_dev", prompt="x")
    texts = [
        repr(client),
        repr(client.provider),
        repr(g),
        repr(g.request),
        g.to_code(),
        g.request.to_code(client.provider),
        g._repr_html_(),
        repr(g.image),
    ]
    for text in texts:
        assert server.api_key not in text
    assert "FLUX_API_KEY" in g.to_code()


def test_key_echoed_by_the_server_is_scrubbed(server, client):
    server.fail("status", status=401, body={"detail": f"bad key {server.api_key}!"})
    with pytest.raises(fluxpanel.AuthError) as e:
        client.generate(prompt="x")
    assert server.api_key not in str(e.value) and server.api_key not in repr(e.value)
    assert server.api_key not in str(e.value.body) and "[redacted]" in str(e.value)


def test_key_not_in_transport_errors(server):
    url = server.url
    server.stop()
    with fluxpanel.FluxClient(api_key="sk-very-secret", url=url, max_retries=0) as c:
        with pytest.raises(fluxpanel.ConnectError) as e:
            c.generate(prompt="x")
    assert "sk-very-secret" not in str(e.value)


def test_snippet_with_explicit_url_names_it_without_credentials(server):
    c = fluxpanel.FluxClient(
        api_key="sk-secret", url="https://user:pw@api.example.test/gen?token=t"
    )
    code = fluxpanel.GenerationRequest(prompt="x", seed=1).to_code(c.provider)
    # An address with credentials in it is read from the environment, and
    # the snippet says why; none of them is written.
    assert "FLUX_API_URL" in code and "holds credentials" in code
    for secret in ("sk-secret", "pw", "token=t", "user:"):
        assert secret not in code
    assert c.provider.endpoint == "https://api.example.test/gen?token=REDACTED"
    plain = fluxpanel.FluxClient(api_key="k", url="https://api.example.test/gen?deployment=b")
    code = fluxpanel.GenerationRequest(prompt="x", seed=1).to_code(plain.provider)
    assert "url='https://api.example.test/gen?deployment=b'" in code


def test_request_pickles_without_provider_or_key(server, client):
    g = client.generate(prompt="x")
    assert server.api_key.encode() not in pickle.dumps(g.request)
