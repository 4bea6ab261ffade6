"""An opt-in record of every model call, for seeing what a small model was asked and what it answered.

Set ``ECHELON_TRACE=/path/trace.jsonl`` (``echelon ask --trace FILE`` does it for you). Every level of the hierarchy
inherits the variable, so one file holds the calls of the orchestrator and all managers, one JSON object per line.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .base import Model, ModelRequest, ModelResponse

ENV_VAR = "ECHELON_TRACE"


class TracedModel(Model):
    """Wraps a model and appends each request and its response (or error) to a JSONL file."""

    def __init__(self, inner: Model, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.price = inner.price
        self.path = path

    async def request(self, request: ModelRequest) -> ModelResponse:
        started = time.monotonic()
        record: dict[str, object] = {
            "time": time.time(),
            "pid": os.getpid(),
            "model": self.name,
            "request": request.model_dump(mode="json", exclude_defaults=True),
        }
        try:
            response = await self.inner.request(request)
        except Exception as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            raise
        else:
            record["response"] = response.model_dump(mode="json", exclude_defaults=True)
            return response
        finally:
            record["seconds"] = round(time.monotonic() - started, 3)
            self._append(record)

    def _append(self, record: dict[str, object]) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One O_APPEND write per record keeps lines from several processes whole.
        # Readable by its owner only: a trace holds prompts, tool data and, in errors, command lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    async def aclose(self) -> None:
        await self.inner.aclose()


class SpannedModel(Model):
    """Wraps a model so each request is an OpenTelemetry span with its purpose and tokens (a no-op span unless an
    exporter is configured; ``core.telemetry``)."""

    def __init__(self, inner: Model) -> None:
        self.inner = inner
        self.name = inner.name
        self.price = inner.price

    async def request(self, request: ModelRequest) -> ModelResponse:
        from ..telemetry import span

        with span(f"echelon.model {request.purpose}", **{"gen_ai.request.model": self.name}) as current:
            response = await self.inner.request(request)
            current.set_attribute("gen_ai.usage.input_tokens", response.usage.input_tokens)
            current.set_attribute("gen_ai.usage.output_tokens", response.usage.output_tokens)
            return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def traced(model: Model) -> Model:
    """The model, with a span per request when spans are exported, and with every call appended to a file when
    ``ECHELON_TRACE`` names one."""
    from ..telemetry import exporting

    path = os.environ.get(ENV_VAR, "").strip()
    spanned = SpannedModel(model) if exporting() else model
    return TracedModel(spanned, Path(path).expanduser()) if path else spanned
