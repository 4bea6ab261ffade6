"""Structured output validated once, where it enters: JSON text -> pydantic model, with bounded repair.

An answer that does not validate is sent back to the model with the validation error (the plan names an unknown
manager, a field is missing, ...), a bounded number of times; extra checks (``validate``) get the same treatment.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from .base import Message, Model, ModelError, ModelRequest, TokenUsage

T = TypeVar("T", bound=BaseModel)

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class SendBack(Exception):
    """An answer is refused and goes back to the model once more with this reason (a check the schema cannot
    express: an unknown worker, a figure not in the data). Like pydantic-ai's ``ModelRetry``."""


class StructuredOutputError(ModelError):
    """The model did not produce valid output within the allowed attempts."""

    def __init__(self, message: str, usage: TokenUsage) -> None:
        super().__init__(message)
        self.usage = usage


def extract_json(text: str) -> Any:
    """Parse JSON from a model's text, tolerating a Markdown fence or prose around one JSON object."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1)
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        start, end = stripped.find("{"), stripped.rfind("}")
        if start != -1 and end > start:
            return json.loads(stripped[start : end + 1])
        raise


def _error_text(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
    return str(exc)


async def generate_structured(
    model: Model,
    request: ModelRequest,
    output_type: type[T],
    *,
    validate: Callable[[T], None] | None = None,
    repair: Callable[[Any], Any] | None = None,
    max_repairs: int = 2,
) -> tuple[T, TokenUsage]:
    """Ask ``model`` for an ``output_type`` answer; send invalid answers back with the error, at most ``max_repairs``
    times. ``validate`` may raise ``SendBack`` for checks the schema cannot express (e.g. unknown worker names).
    ``repair`` may fix a known, unambiguous slip in the parsed JSON before it is validated (cheaper than a retry).
    An answer cut off at the token allowance counts as a failed attempt."""
    messages = list(request.messages)
    schema = request.output_schema or json_schema(output_type)
    usage = TokenUsage()
    last_error = ""
    for _attempt in range(max_repairs + 1):
        response = await model.request(
            request.model_copy(update={"messages": messages, "output_schema": schema, "tools": []})
        )
        usage = usage + response.usage
        try:
            if response.stop_reason == "max_tokens":
                # Fewer tokens than the allowance: the local server stopped a reply that began to loop (_runaway).
                where = (
                    "where it began to repeat itself"
                    if 0 < response.usage.output_tokens < request.max_tokens
                    else f"at {request.max_tokens} tokens"
                )
                raise SendBack(f"the answer was cut off {where}: give the same JSON, much shorter")
            parsed = extract_json(response.text)
            value = output_type.model_validate(repair(parsed) if repair is not None else parsed)
            if validate is not None:
                validate(value)
            return value, usage
        except (ValidationError, ValueError, SendBack) as exc:
            last_error = _error_text(exc)
            messages = [
                *messages,
                Message(role="assistant", content=response.text),
                Message(
                    role="user",
                    content=f"That answer is invalid: {last_error}\nReply again with the corrected JSON only.",
                ),
            ]
    raise StructuredOutputError(
        f"{model.name} gave no valid {output_type.__name__} after {max_repairs + 1} attempts: {last_error}",
        usage,
    )


@functools.cache
def _schema_text(output_type: type[BaseModel]) -> str:
    return json.dumps(output_type.model_json_schema())


def json_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """A fresh copy of ``output_type``'s JSON schema: pydantic builds it anew on every call (milliseconds, for
    every plan and step request), so it is built once per type and copied."""
    schema: dict[str, Any] = json.loads(_schema_text(output_type))
    return schema


def schema_with_choices(output_type: type[BaseModel], choices: dict[str, list[str]]) -> dict[str, Any]:
    """``output_type``'s JSON schema with string fields narrowed to fixed choices, e.g. ``{"Step.worker": [...]}``.

    Grammar-constrained decoding (the local model) then cannot name a manager or worker that does not exist, and
    API models see the valid names in the schema itself.
    """
    schema = json_schema(output_type)
    for path, values in choices.items():
        model_name, _, field = path.rpartition(".")
        target = schema if model_name == output_type.__name__ else schema.get("$defs", {}).get(model_name)
        if target is None or field not in target.get("properties", {}):
            raise KeyError(f"{path} is not a field of {output_type.__name__}'s schema")
        target["properties"][field]["enum"] = list(values)
    return schema


def require(schema: dict[str, Any], fields: dict[str, list[str]]) -> dict[str, Any]:
    """``schema`` with the named fields of the named models required, e.g. ``{"Plan": ["asks_for"]}``: a field with
    a default is optional in the schema, and grammar-constrained decoding then lets a small model leave out a
    decision it was asked to make."""
    for model_name, names in fields.items():
        target = schema if schema.get("title") == model_name else schema.get("$defs", {}).get(model_name)
        if target is None:
            raise KeyError(f"{model_name} is not in the schema")
        target["required"] = [
            *target.get("required", []),
            *(n for n in names if n not in target.get("required", [])),
        ]
    return schema
