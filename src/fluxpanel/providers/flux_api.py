"""``FluxAPI``: the HTTP API described in API_CONTRACT.md.

One billable ``POST <url>`` with ``Authorization: Bearer <key>`` and the
request's JSON; the answer is a list of short-lived image URLs, bare or in one
of the common wrappers.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .._addresses import is_public_host
from .._errors import ConfigError, FluxError
from .._keys import KeyRule, clean_key, public_url, url_secrets
from .._request import GenerationRequest
from ..tables.flux_api import MODELS
from ._base import Call, Outputs, Provider, Reply, TaskRef

KEY_ENV = "FLUX_API_KEY"
URL_ENV = "FLUX_API_URL"


class FluxAPI(Provider):
    """The FLUX HTTP API of API_CONTRACT.md.

    ``api_key`` defaults to ``$FLUX_API_KEY`` and ``url`` to ``$FLUX_API_URL``.
    """

    #: What it takes, in a line of the README's table of providers.
    summary = "the HTTP API of `docs/site/api-contract.md`"

    @classmethod
    def environment(cls) -> str:
        return f"`{KEY_ENV}` and `{URL_ENV}`"

    name = "flux-api"
    label = "FLUX API"
    key_env = KEY_ENV
    models = MODELS

    def __init__(self, api_key: str | None = None, url: str | None = None) -> None:
        key = api_key if api_key is not None else os.environ.get(KEY_ENV)
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(
                f"no API key for the FLUX API: set the {KEY_ENV} environment "
                "variable or pass api_key=; without a key, use provider='preview'"
            )
        key = clean_key(key, self.label, KEY_ENV)
        endpoint = url if url is not None else os.environ.get(URL_ENV)
        if not endpoint:
            raise ConfigError(
                f"no endpoint for the FLUX API: set the {URL_ENV} environment "
                "variable or pass url= (the generation endpoint, e.g. "
                "https://host/v1/images/generate)"
            )
        if urlsplit(endpoint).scheme not in ("http", "https"):
            raise ConfigError(f"url={public_url(endpoint)!r} is not an http or https URL")
        self._api_key = key
        self._url = endpoint
        self._url_given = url is not None
        self.local = not is_public_host(urlsplit(endpoint).hostname or "")

    @property
    def endpoint(self) -> str:
        """The endpoint, query string included (a deployment may be chosen
        there), without credentials."""
        return public_url(self._url)

    @property
    def identity(self) -> str:
        # The whole address but the user info: two deployments behind one path
        # are two caches. Only hashed, never stored.
        parts = urlsplit(self._url)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    @property
    def keys(self) -> KeyRule:
        # One POST to the configured address: the key goes nowhere else.
        return KeyRule(self._url, None, (self._api_key, *url_secrets(self._url)))

    def client_code(self) -> tuple[str, str]:
        comment = f"The key is read from ${KEY_ENV}"
        if url_secrets(self._url):
            # The snippet cannot carry the credentials in this address.
            return "", comment + (
                f" and the endpoint from ${URL_ENV} (its address holds credentials, "
                "so it is not written here)."
            )
        if self._url_given:
            return f"url={self.endpoint!r}", comment + "."
        return "", comment + f" and the endpoint from ${URL_ENV}."

    def start(self, request: GenerationRequest) -> Call:
        return Call(
            "POST",
            self._url,
            json=request.to_payload(),
            headers={"Authorization": f"Bearer {self._api_key}"},
            billable=True,
        )

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Outputs:
        try:
            data = reply.json()
        except ValueError:
            raise self.unreadable(reply, "the body is not valid JSON") from None
        urls = image_urls(data)
        if urls is None:
            raise self.unreadable(
                reply,
                "expected a list of image URLs (bare, or under 'images', 'data' or 'output')",
            )
        if not urls:
            raise self.unreadable(reply, "the list of images is empty")
        return Outputs(urls=urls)

    def accepted(self, request: GenerationRequest, call: Call, reply: Reply) -> TaskRef | None:
        """The API answers with the images' URLs at once: those are what a
        restarted kernel fetches again."""
        try:
            urls = image_urls(reply.json())
        except ValueError:
            return None
        if not urls:
            return None
        return TaskRef(reply.request_id or "", {"images": urls})

    def rejoin(self, request: GenerationRequest, task: TaskRef) -> Outputs:
        urls = task.follow.get("images")
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise FluxError("the task has no image URLs to fetch again")
        return Outputs(urls=urls)

    def __repr__(self) -> str:
        return f"FluxAPI(url={self.endpoint!r})"


def image_urls(data: Any) -> list[str] | None:
    """URLs from a bare list or a ``images``/``data``/``output`` wrapper."""
    if isinstance(data, dict):
        for key in ("images", "data", "output"):
            if key in data:
                return image_urls(data[key])
        return None
    if not isinstance(data, list):
        return None
    urls = []
    for item in data:
        if isinstance(item, dict):
            item = item.get("url")
        if not isinstance(item, str):
            return None
        urls.append(item)
    return urls
