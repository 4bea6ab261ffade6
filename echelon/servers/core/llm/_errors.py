"""One wording for the failures the HTTP providers (anthropic, openai) share.

The provider SDKs retry rate limits, server errors, connection errors and timeouts themselves; what reaches
these helpers has already been retried, so each message says what happened, where, and what to do about it.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .base import ModelError

_STATUS_NAMES = {
    400: "bad request",
    401: "authentication failed",
    403: "permission denied",
    404: "not found (check the model name and base URL)",
    408: "request timeout",
    409: "conflict",
    413: "request too large",
    422: "unprocessable request",
    429: "rate limited",
    529: "overloaded",
}


def is_retried_status(status: int) -> bool:
    """Statuses both SDKs retry by default (before giving up and raising)."""
    return status in (408, 409, 429) or status >= 500


def error_detail(body: object) -> str:
    """The human part of an API error body: ``error.message`` when there is one, else the body, shortened."""
    if isinstance(body, dict):
        for key in ("message", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        nested = body.get("error")
        if nested is not None:
            return error_detail(nested)
    if body is None:
        return "no details"
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return text if len(text) <= 300 else text[:300] + "..."


@dataclass(frozen=True)
class ProviderErrors:
    """Builds ``ModelError`` messages for one model: its name, the key's env var, where it sends requests."""

    model_name: str
    env_var: str
    base_url: str
    max_retries: int
    timeout: float

    def missing_key(self) -> ModelError:
        return ModelError(
            f"{self.model_name}: no API key: set {self.env_var} (or api_key_env in the model settings)"
        )

    def status(self, status: int, body: object) -> ModelError:
        detail = error_detail(body)
        what = _STATUS_NAMES.get(status) or ("server error" if status >= 500 else "request rejected")
        if status in (401, 403):
            return ModelError(
                f"{self.model_name}: {what} (HTTP {status} from {self.base_url}: {detail}); "
                f"check {self.env_var}"
            )
        if is_retried_status(status):
            return ModelError(
                f"{self.model_name}: HTTP {status} {what} from {self.base_url}, gave up after "
                f"{self.attempts}: {detail}"
            )
        return ModelError(f"{self.model_name}: HTTP {status} {what} from {self.base_url}: {detail}")

    def connection(self, *, timed_out: bool, cause: BaseException) -> ModelError:
        what = f"timed out after {self.timeout:g}s" if timed_out else f"could not connect ({cause})"
        return ModelError(
            f"{self.model_name}: request to {self.base_url} {what}; gave up after {self.attempts}"
        )

    @property
    def attempts(self) -> str:
        count = self.max_retries + 1
        return f"{count} attempt{'s' if count > 1 else ''}"

    def malformed(self, what: str) -> ModelError:
        return ModelError(
            f"{self.model_name}: the server at {self.base_url} returned a malformed response: {what}"
        )

    def other(self, cause: BaseException) -> ModelError:
        return ModelError(
            f"{self.model_name}: request to {self.base_url} failed: {type(cause).__name__}: {cause}"
        )


def snippet(value: object, limit: int = 200) -> str:
    """A short printable excerpt of a response body, for error messages."""
    text = value if isinstance(value, str) else repr(value)
    text = text.strip() or "(empty body)"
    return text if len(text) <= limit else text[:limit] + "..."


@contextmanager
def sdk_errors(sdk: Any, base: type[Exception], errors: ProviderErrors) -> Generator[None]:
    """Turn an official SDK's exceptions into ModelErrors; the anthropic and openai SDKs share these names, and
    ``base`` is the SDK's root exception (``AnthropicError``, ``OpenAIError``)."""
    try:
        yield
    except sdk.APIStatusError as exc:
        raise errors.status(exc.status_code, exc.body) from exc
    except sdk.APITimeoutError as exc:
        raise errors.connection(timed_out=True, cause=exc) from exc
    except sdk.APIConnectionError as exc:
        raise errors.connection(timed_out=False, cause=exc.__cause__ or exc) from exc
    except sdk.APIResponseValidationError as exc:
        raise errors.malformed(str(exc)) from exc
    except json.JSONDecodeError as exc:  # the body claimed to be JSON and was not
        raise errors.malformed(f"invalid JSON ({exc})") from exc
    except base as exc:
        raise errors.other(exc) from exc
