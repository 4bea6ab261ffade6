"""The embedded local model, offline on CPU: ``local``, ``local:1.5b``, ``local:0.5b``, ``local:/x.gguf``.

Every process talks to one shared llama.cpp server per model and machine (see ``_local_runtime``), started on
first use and fetched on first use, through the OpenAI-compatible provider. Nothing happens until the first
request, and nothing at all while real model requests are blocked (tests). The functions a CLI needs
(``ensure_model`` for ``echelon model fetch``, ``running_server``, ``stop_local_server``) are exported here.
"""

from __future__ import annotations

import anyio

from ._guard import check_allowed
from ._local_runtime import DEFAULT_IDLE_TIMEOUT, ensure_local_server, running_server, stop_local_server
from ._model_files import KNOWN_MODELS, ModelFileError, ensure_model, model_path, resolve_model_spec
from .base import Model, ModelRequest, ModelResponse
from .openai import OpenAIModel

__all__ = [
    "KNOWN_MODELS",
    "LocalModel",
    "ModelFileError",
    "ensure_local_server",
    "ensure_model",
    "model_path",
    "running_server",
    "stop_local_server",
]

# CPU generation is slow and requests from several levels queue on one model: allow for the wait.
REQUEST_TIMEOUT = 900.0


class LocalModel(Model):
    """The embedded model. ``spec``: None (``ECHELON_LOCAL_MODEL`` or the 1.5B), a variant, or a path."""

    def __init__(self, spec: str | None = None, *, idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        self.spec = spec or None
        self.name = "local" if self.spec is None else f"local:{self.spec}"
        self.model_id = resolve_model_spec(self.spec).model_id  # raises ValueError for an unusable spec
        self.idle_timeout = idle_timeout
        self._delegate: OpenAIModel | None = None
        self._url: str | None = None
        self._lock: anyio.Lock | None = None

    async def _connect(self) -> OpenAIModel:
        """The provider for the shared server, re-resolved per request: an idle one may have exited."""
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            url = await ensure_local_server(self.spec, idle_timeout=self.idle_timeout)
            if self._delegate is None or url != self._url:
                if self._delegate is not None:
                    await self._delegate.aclose()
                self._delegate = OpenAIModel(
                    self.model_id,
                    base_url=url + "/v1",
                    provider="local",
                    timeout=REQUEST_TIMEOUT,
                    max_retries=2,
                )
                self._url = url
            return self._delegate

    async def request(self, request: ModelRequest) -> ModelResponse:
        check_allowed(self.name)
        delegate = await self._connect()
        response = await delegate.request(request)
        return response.model_copy(update={"model_name": self.name})

    async def aclose(self) -> None:
        if self._delegate is not None:
            await self._delegate.aclose()
            self._delegate = None
