"""OpenTelemetry traces: one trace across every level, silent unless an exporter is configured.

The MCP SDK already makes a client span for every request a level sends and a server span for every request it
serves, carrying W3C trace context (``traceparent``) in ``_meta``; echelon adds spans for the run, each phase, each
step, each model call and each tool call, with their tokens and outcomes. Nothing is recorded unless this process
is told where to send spans:

- ``OTEL_TRACES_EXPORTER=otlp`` (with ``OTEL_EXPORTER_OTLP_ENDPOINT``; needs ``mcp-echelon[otel]``) or ``console``
  (to stderr: stdout belongs to the stdio transport);
- ``ECHELON_TRACES_FILE=/path/spans.jsonl``: every finished span appended as one JSON line (for a look without a
  collector). Every level inherits these variables, so all processes of a hierarchy export the same way.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Generator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import extract, inject

logger = logging.getLogger(__name__)
FILE_ENV = "ECHELON_TRACES_FILE"
_tracer = trace.get_tracer("echelon")
_configured = False


def exporting() -> bool:
    """Whether this process is told to export spans."""
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    return bool(os.environ.get(FILE_ENV, "").strip()) or exporter_name not in ("", "none")


def configure(service: str) -> None:
    """Install a tracer provider for this process when an exporter is configured (once; a no-op otherwise)."""
    global _configured
    if _configured or not exporting():
        return
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    path = os.environ.get(FILE_ENV, "").strip()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if path:
        provider.add_span_processor(SimpleSpanProcessor(json_lines_exporter(path)))
    if exporter_name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            logger.warning("OTEL_TRACES_EXPORTER=otlp needs the otel extra: pip install 'mcp-echelon[otel]'")
        else:
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured = True


def json_lines_exporter(path: str) -> Any:
    """A span exporter appending finished spans to ``path``, one JSON object per line (each write is one O_APPEND
    write, so several processes can share the file). The SDK has no file exporter; this is one for a quick look."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class JsonLinesExporter(SpanExporter):
        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            lines = "".join(json.dumps(_span_json(span), default=str) + "\n" for span in spans)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, lines.encode())
            finally:
                os.close(fd)
            return SpanExportResult.SUCCESS

    return JsonLinesExporter()


def _span_json(span: Any) -> dict[str, Any]:
    context, parent = span.get_span_context(), span.parent
    return {
        "name": span.name,
        "trace_id": format(context.trace_id, "032x"),
        "span_id": format(context.span_id, "016x"),
        "parent_id": format(parent.span_id, "016x") if parent is not None else None,
        "service": span.resource.attributes.get("service.name"),
        "start": span.start_time,
        "end": span.end_time,
        "attributes": {k: v for k, v in (span.attributes or {}).items()},
        "status": span.status.status_code.name,
    }


@contextmanager
def span(name: str, **attributes: Any) -> Generator[trace.Span]:
    """A span of this process, under the current one (attributes that are None are left out)."""
    with _tracer.start_as_current_span(
        name, attributes={k: v for k, v in attributes.items() if v is not None}
    ) as s:
        yield s


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (``traceparent``), to keep with a run and resume it under."""
    headers: dict[str, str] = {}
    inject(headers)
    return headers


@contextmanager
def under(headers: dict[str, str] | None) -> Generator[None]:
    """Make ``headers`` (from ``carrier``) the current trace context for the block."""
    if not headers:
        yield
        return
    token = otel_context.attach(extract(headers))
    try:
        yield
    finally:
        otel_context.detach(token)
