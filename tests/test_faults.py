"""Every fault the ReferenceServer can inject: the outcome and the billable POSTs."""

from __future__ import annotations

import random
import time

import pytest

import fluxpanel
from fluxpanel._engine import RetryPolicy, parse_retry_after
from fluxpanel.testing import ReferenceServer

from .conftest import FAST_RETRY, small_image


def gen(client, **kw):
    return client.generate(model="flux_dev", prompt="a fox", **kw)


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_the_billable_post_is_never_retried(server, client, status):
    server.fail("status", status=status)
    with pytest.raises(fluxpanel.ServerError) as e:
        gen(client)
    assert e.value.status == status and e.value.request_id
    assert len(server.posts) == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, fluxpanel.BadRequestError),
        (422, fluxpanel.BadRequestError),
        (401, fluxpanel.AuthError),
        (403, fluxpanel.AuthError),
        (402, fluxpanel.InsufficientCreditsError),
    ],
)
def test_error_statuses_map_to_the_tree(server, client, status, cls):
    server.fail("status", status=status, body={"detail": "explained by the server"})
    with pytest.raises(cls, match="explained by the server") as e:
        gen(client)
    assert isinstance(e.value, fluxpanel.APIError) and e.value.status == status
    assert e.value.body == {"detail": "explained by the server"}
    assert len(server.posts) == 1


def test_wrong_key_is_an_auth_error(server):
    with fluxpanel.FluxClient(api_key="wrong", url=server.url) as c:
        with pytest.raises(fluxpanel.AuthError, match="401"):
            gen(c)


def test_429_with_retry_after_waits_then_succeeds(server, client):
    server.fail("status", times=2, status=429, retry_after=0.2)
    t0 = time.monotonic()
    assert len(gen(client)) == 1
    assert time.monotonic() - t0 >= 0.4
    assert len(server.posts) == 3


def test_429_without_retry_after_backs_off_then_succeeds(server, client):
    server.fail("status", times=2, status=429)
    assert len(gen(client)) == 1
    assert len(server.posts) == 3


def test_429_retry_after_beyond_60s_raises_at_once(server, client):
    server.fail("status", status=429, retry_after=120)
    with pytest.raises(fluxpanel.RateLimitError) as e:
        gen(client)
    assert e.value.retry_after == 120 and len(server.posts) == 1


def test_429_forever_gives_up_with_rate_limit_error(server, client):
    server.fail("status", times=10, status=429, retry_after=0)
    with pytest.raises(fluxpanel.RateLimitError) as e:
        gen(client)
    assert e.value.retry_after == 0
    assert len(server.posts) == FAST_RETRY.max_retries + 1


def test_read_timeout_on_the_post_is_not_retried(server):
    server.fail("hang", seconds=1.0)
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, timeout=0.3, retry=FAST_RETRY
    ) as c:
        with pytest.raises(fluxpanel.RequestTimeout, match="not sent again"):
            gen(c)
    time.sleep(0.8)
    assert len(server.posts) == 1


@pytest.mark.parametrize("kind", ["drop", "reset"])
def test_connection_lost_after_sending_is_not_retried(server, client, kind):
    server.fail(kind)
    with pytest.raises(fluxpanel.TransportError, match="may have reached the server"):
        gen(client)
    assert len(server.posts) == 1


def test_slow_drip_response_still_succeeds(server, client):
    server.fail("slow", chunk=8, interval=0.01)
    assert len(gen(client)) == 1


@pytest.mark.parametrize(
    ("kind", "match"),
    [("malformed", "not valid JSON"), ("truncated", "not valid JSON"), ("empty", "empty")],
)
def test_unreadable_answers_are_clear_api_errors(server, client, kind, match):
    server.fail(kind)
    with pytest.raises(fluxpanel.APIError, match=match):
        gen(client)
    assert len(server.posts) == 1


@pytest.mark.parametrize(
    "body", [{"result": []}, {"images": "x"}, [1, 2], "just a string", {"data": [{"uri": "x"}]}]
)
def test_unexpected_shapes_are_api_errors(server, client, body):
    server.fail("body", body=body)
    with pytest.raises(fluxpanel.APIError, match="cannot read"):
        gen(client)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://host/x.png", "javascript:alert(1)"])
def test_only_http_image_urls_are_fetched(server, client, url):
    server.fail("body", body=[url])
    with pytest.raises(fluxpanel.APIError, match="only http and https"):
        gen(client)


@pytest.mark.parametrize("status", [403, 404, 410])
def test_gone_images_are_result_expired(server, client, status):
    server.fail_images("status", status=status)
    with pytest.raises(fluxpanel.ResultExpiredError, match=str(status)):
        gen(client)
    assert len(server.image_requests) == 1  # not retried: it will not come back


def test_expired_urls_answer_410(server, client):
    server.ttl = 0.0
    with pytest.raises(fluxpanel.ResultExpiredError, match="410"):
        gen(client)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_image_downloads_retry_transient_statuses(server, client, status):
    server.fail_images("status", times=2, status=status)
    assert len(gen(client)) == 1
    assert len(server.image_requests) == 3


def test_image_download_retries_after_reset(server, client):
    server.fail_images("reset")
    assert len(gen(client)) == 1
    assert len(server.image_requests) == 2
    assert len(server.posts) == 1


def test_image_download_gives_up_after_retries(server, client):
    server.fail_images("status", times=10, status=503)
    with pytest.raises(fluxpanel.ServerError, match="503"):
        gen(client)
    assert len(server.image_requests) == FAST_RETRY.max_retries + 1


@pytest.mark.parametrize(
    ("kind", "match"),
    [("truncated", "not a valid image"), ("not_image", "not a valid image"), ("bomb", "too large")],
)
def test_bad_image_bodies_are_image_errors(server, client, kind, match):
    server.fail_images(kind)
    with pytest.raises(fluxpanel.ImageError, match=match):
        gen(client)


def test_oversized_image_is_refused(server):
    server.fail_images("oversized", size=3_000_000)
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, max_image_bytes=1_000_000
    ) as c:
        with pytest.raises(fluxpanel.ImageError, match="limit"):
            gen(c)


def test_slow_drip_image_hits_the_download_deadline(server):
    server.fail_images("slow", times=5, chunk=1, interval=0.2)
    with fluxpanel.FluxClient(
        api_key=server.api_key,
        url=server.url,
        download_timeout=0.3,
        retry=RetryPolicy(max_retries=0),
    ) as c:
        with pytest.raises(fluxpanel.RequestTimeout):
            gen(c)


def test_partial_failure_keeps_the_images_that_succeeded(server, client):
    server.fail_images("status", status=410)
    g = gen(client, num_images=4)
    assert len(g) == 3 and len(g.errors) == 1
    assert isinstance(g.errors[0], fluxpanel.ResultExpiredError)
    assert "1 failed" in repr(g) and "failed:" in g._repr_html_()


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(future) <= 31


def test_backoff_is_full_jitter_and_capped():
    policy = RetryPolicy(base=0.5, cap=8.0)
    rng = random.Random(1)
    for attempt in range(8):
        waits = [policy.backoff(attempt, rng) for _ in range(200)]
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert all(0 <= w <= ceiling for w in waits)
        assert max(waits) > 0.8 * ceiling and min(waits) < 0.2 * ceiling


def test_reference_server_rejects_unknown_faults():
    with ReferenceServer(image_factory=small_image) as s:
        with pytest.raises(ValueError, match="unknown fault"):
            s.fail("explode")
