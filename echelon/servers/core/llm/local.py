"""The embedded local model, offline on CPU: ``local``, ``local:1.5b``, ``local:0.5b``, ``local:/x.gguf``.

Every process talks to one shared llama.cpp server per model and machine (see ``_local_runtime``), started on
first use and fetched on first use, through the OpenAI-compatible provider. Nothing happens until the first
request, and nothing at all while real model requests are blocked (tests). A CLI makes the model ready in the
foreground first (``prepare_local_model``). When the server dies under a request, the error names the cause
(its supervisor recorded it) and the next request starts a new server; a server that had merely exited on its
idle timeout is replaced within the same request. The functions a CLI needs (``ensure_model`` for
``echelon model fetch``, ``running_server``, ``stop_local_server``) are exported here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio

from ._errors import ProviderErrors
from ._guard import check_allowed
from ._install_hints import LocalRuntimeMissing, require_local_runtime
from ._local_runtime import (
    DEFAULT_IDLE_TIMEOUT,
    LocalServerFailed,
    ServerState,
    connect_local_server,
    diagnose,
    ensure_local_server,
    running_server,
    stop_local_server,
)
from ._model_files import KNOWN_MODELS, ModelFileError, ensure_model, model_path, resolve_model_spec
from ._prepare import prepare_local_model, prepare_local_models
from .base import Model, ModelError, ModelRequest, ModelResponse
from .openai import ENV_VAR as OPENAI_KEY_VAR
from .openai import PLACEHOLDER_KEY, OpenAIModel

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = [
    "KNOWN_MODELS",
    "LocalModel",
    "LocalRuntimeMissing",
    "LocalServerFailed",
    "ModelFileError",
    "ensure_local_server",
    "ensure_model",
    "model_path",
    "prepare_local_model",
    "prepare_local_models",
    "require_local_runtime",
    "running_server",
    "stop_local_server",
]

# CPU generation is slow and requests from several levels queue on one model: allow for the wait.
REQUEST_TIMEOUT = 900.0


class _LoopbackModel(OpenAIModel):
    """The OpenAI-compatible provider pointed at the local server, never through a proxy: HTTP_PROXY without a
    NO_PROXY for 127.0.0.1 would otherwise send loopback requests to a proxy that cannot reach them."""

    def _connect(self) -> tuple[AsyncOpenAI, ProviderErrors]:
        if self._client is None or self._errors is None:
            from openai import AsyncOpenAI, DefaultAsyncHttpxClient

            self._client = AsyncOpenAI(
                api_key=PLACEHOLDER_KEY,
                base_url=self.base_url,
                max_retries=self.max_retries,
                timeout=self.timeout,
                http_client=DefaultAsyncHttpxClient(trust_env=False),
            )
            self._errors = ProviderErrors(
                self.name, OPENAI_KEY_VAR, str(self._client.base_url), self.max_retries, self.timeout
            )
        return self._client, self._errors


class LocalModel(Model):
    """The embedded model. ``spec``: None (``ECHELON_LOCAL_MODEL`` or the 1.5B), a variant, or a path."""

    def __init__(self, spec: str | None = None, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        self.spec = spec or None
        self.name = "local" if self.spec is None else f"local:{self.spec}"
        self.model_id = resolve_model_spec(self.spec).model_id  # raises ValueError for an unusable spec
        self.idle_timeout = idle_timeout
        self._delegate: _LoopbackModel | None = None
        self._url: str | None = None
        self._lock: anyio.Lock | None = None

    async def _connect(self) -> tuple[_LoopbackModel, ServerState | None]:
        """The provider for the shared server, re-resolved per request: an idle one may have exited."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            url, state = await connect_local_server(self.spec, idle_timeout=self.idle_timeout)
            if self._delegate is None or url != self._url:
                if self._delegate is not None:
                    await self._delegate.aclose()
                # No SDK retries: on loopback a failed connection means the server died or hangs, which
                # `diagnose` explains; retrying would only delay that.
                self._delegate = _LoopbackModel(
                    self.model_id,
                    base_url=url + "/v1",
                    provider="local",
                    timeout=REQUEST_TIMEOUT,
                    max_retries=0,
                )
                self._url = url
            return self._delegate, state

    async def request(self, request: ModelRequest) -> ModelResponse:
        check_allowed(self.name)
        for attempt in (1, 2):
            delegate, state = await self._connect()
            try:
                response = await delegate.request(request)
            except ModelError as exc:
                failure = await diagnose(self.spec, state) if state is not None else None
                if failure is None:
                    raise
                if failure.clean and attempt == 1:
                    continue  # it exited on its idle timeout as the request arrived: a new one takes it
                raise LocalServerFailed(failure.message) from exc
            return response.model_copy(update={"model_name": self.name})
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def aclose(self) -> None:
        if self._delegate is not None:
            await self._delegate.aclose()
            self._delegate = None
