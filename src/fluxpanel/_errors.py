"""The error tree. Every message is meant for a person, and none holds a key."""

from __future__ import annotations

from typing import Any


class FluxError(Exception):
    """Base class of every error fluxpanel raises."""


class ValidationError(FluxError, ValueError):
    """A request parameter is not allowed. Raised before any network call."""

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        model: str | None = None,
        allowed: str | None = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.model = model
        self.allowed = allowed
        #: A required value that was not given.
        self.missing = missing


class ConfigError(FluxError):
    """fluxpanel is not set up to do this: a missing key or endpoint, say."""


class TransportError(FluxError):
    """The network failed: the server could not be reached, or it timed out."""


class ConnectError(TransportError):
    """The connection could not be made; the server never saw the request."""


class RequestTimeout(TransportError):
    """The server did not answer in time."""


class APIError(FluxError):
    """The server answered with an error, or with something we cannot read."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.body = body


class BadRequestError(APIError):
    """400/422: the server refused the parameters."""


class AuthError(APIError):
    """401/403: the key is missing, wrong or not allowed to do this."""


class InsufficientCreditsError(APIError):
    """402: the account has run out of credits."""


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` is the wait in seconds, when known."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: trouble on the server's side."""


class ModelNotServedError(APIError):
    """A host answered a model's own route with 404 or 410: it no longer
    serves that model there (retired), or never did at this address."""


class ModerationError(APIError):
    """The provider's moderation refused the prompt or the result.
    ``billed`` is what the host says it billed for it (dollars), where it
    says (Black Forest Labs reports a task's cost when it accepts it)."""

    billed: float | None = None


class ResultExpiredError(FluxError):
    """An image URL has gone (403/404/410 on download); results are short-lived."""


class ImageError(FluxError):
    """What was downloaded is not a valid image (truncated, not an image, too big)."""


def error_for_status(
    status: int,
    message: str,
    *,
    request_id: str | None = None,
    body: Any = None,
    retry_after: float | None = None,
) -> APIError:
    """The error class for an HTTP status."""
    kw: dict[str, Any] = {"status": status, "request_id": request_id, "body": body}
    if status == 429:
        return RateLimitError(message, retry_after=retry_after, **kw)
    cls: type[APIError]
    if status in (400, 422):
        cls = BadRequestError
    elif status in (401, 403):
        cls = AuthError
    elif status == 402:
        cls = InsufficientCreditsError
    elif status >= 500:
        cls = ServerError
    else:
        cls = APIError
    return cls(message, **kw)


class CostLimitError(FluxError):
    """Sending would pass ``max_cost``; nothing more was sent."""
