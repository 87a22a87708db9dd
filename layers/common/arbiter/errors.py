"""Domain errors. Logic raises these; arbiter.http maps each to one status code and a {"detail": ...} body."""

# The type of a pydantic validation error (PydanticCustomError) that answers 400 like a malformed body, where
# a seed says so for a field's format; other value errors answer 422.
MALFORMED = "malformed"


class ArbiterError(Exception):
    """Base of every error a caller caused and may be told about."""

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class BadRequestError(ArbiterError):
    """The request is malformed (400)."""


class AuthenticationError(ArbiterError):
    """No valid API key (401)."""


class ForbiddenError(ArbiterError):
    """The key is valid but the resource belongs to another tenant, or the key lacks the scope (403)."""


class NotFoundError(ArbiterError):
    """The resource does not exist (404)."""


class ConflictError(ArbiterError):
    """The request conflicts with the resource's current state (409)."""


class BusinessRuleError(ArbiterError):
    """Well-formed input that a business rule refuses (422)."""


class PayloadTooLargeError(ArbiterError):
    """The body exceeds the documented size bound (413)."""


class RateLimitedError(ArbiterError):
    """Too many requests in the current window (429)."""

    def __init__(self, detail: str, retry_after_seconds: int):
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds


class ServiceBusyError(ArbiterError):
    """The data the request needs stayed busy (concurrent writes, throttling) through the retries; nothing was
    changed, and the same request may be sent again shortly (503 with Retry-After)."""

    retry_after_seconds = 1
