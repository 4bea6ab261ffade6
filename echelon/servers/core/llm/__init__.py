"""Model providers. One function, ``resolve_model``, turns a ``provider:model`` name into a ``Model``.

Names: ``anthropic:<model>``, ``openai:<model>`` (any OpenAI-compatible server through ``base_url`` or
``OPENAI_BASE_URL``), ``local`` / ``local:1.5b`` / ``local:0.5b`` / ``local:/path/model.gguf`` (embedded, offline),
``auto`` (``ANTHROPIC_API_KEY``, then ``OPENAI_API_KEY``/``OPENAI_BASE_URL``, then ``local``), and
``python:package.module:factory`` (a factory returning your own ``Model``). Provider SDKs are imported lazily.
"""

from __future__ import annotations

import importlib
import os
from typing import Literal

from pydantic import BaseModel, Field

from ._guard import ModelRequestsBlocked, allow_model_requests, check_allowed
from ._trace import traced
from .base import (
    Message,
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    Purpose,
    TokenUsage,
    ToolCall,
    ToolDefinition,
)
from .pricing import Price, price_of
from .structured import SendBack, StructuredOutputError, generate_structured, require, schema_with_choices

Role = Literal["orchestrator", "manager"]

# The powerful model plans phases; the efficient one plans steps, fills tool arguments and synthesizes.
DEFAULT_MODELS: dict[str, dict[Role, str]] = {
    "anthropic": {"orchestrator": "claude-sonnet-4-5", "manager": "claude-haiku-4-5"},
    "openai": {"orchestrator": "gpt-4.1", "manager": "gpt-4.1-mini"},
}

__all__ = [
    "Message",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelRequestsBlocked",
    "ModelResponse",
    "ModelSettings",
    "Purpose",
    "SendBack",
    "StructuredOutputError",
    "TokenUsage",
    "ToolCall",
    "ToolDefinition",
    "allow_model_requests",
    "check_allowed",
    "describe_auto",
    "generate_structured",
    "require",
    "resolve_model",
    "schema_with_choices",
]


class ModelSettings(BaseModel):
    """Provider options from the config file (all optional)."""

    base_url: str | None = None
    api_key_env: str | None = None
    max_retries: int = 3
    timeout_seconds: float = 120.0
    prices: dict[str, Price] = Field(
        default_factory=dict,
        description="USD per million tokens by model name ('anthropic:claude-sonnet-4-5' = {input, output}), "
        "added to or overriding the built-in table; used for the estimated cost in usage",
    )


def describe_auto(role: Role = "manager") -> str:
    """The concrete name ``auto`` resolves to right now, from the environment."""
    if os.environ.get("ANTHROPIC_API_KEY"):
        return f"anthropic:{DEFAULT_MODELS['anthropic'][role]}"
    if os.environ.get("OPENAI_API_KEY") or os.environ.get("OPENAI_BASE_URL"):
        model = os.environ.get("ECHELON_OPENAI_MODEL") or DEFAULT_MODELS["openai"][role]
        return f"openai:{model}"
    return "local"


def resolve_model(name: str, *, role: Role = "manager", settings: ModelSettings | None = None) -> Model:
    """Turn a model name into a Model (traced when ``ECHELON_TRACE`` is set). Raises ValueError naming what is
    wrong with the name."""
    model = _resolve(name, role, settings)
    model.price = price_of(model.name, settings.prices if settings else None)
    return traced(model)


def _resolve(name: str, role: Role, settings: ModelSettings | None) -> Model:
    settings = settings or ModelSettings()
    name = name.strip()
    if name == "auto":
        name = describe_auto(role)
    provider, _, model = name.partition(":")
    if provider == "anthropic":
        from .anthropic import AnthropicModel

        return AnthropicModel(
            model or DEFAULT_MODELS["anthropic"][role],
            api_key=os.environ.get(settings.api_key_env) if settings.api_key_env else None,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_seconds,
        )
    if provider == "openai":
        from .openai import OpenAIModel

        return OpenAIModel(
            model or DEFAULT_MODELS["openai"][role],
            api_key=os.environ.get(settings.api_key_env) if settings.api_key_env else None,
            base_url=settings.base_url,
            max_retries=settings.max_retries,
            timeout=settings.timeout_seconds,
        )
    if provider == "local":
        from .local import LocalModel

        return LocalModel(model or None)
    if provider == "python":
        module_name, _, attr = model.rpartition(":")
        if not module_name or not attr:
            raise ValueError(f"model {name!r}: expected 'python:package.module:factory'")
        factory = getattr(importlib.import_module(module_name), attr)
        built = factory(role) if callable(factory) and not isinstance(factory, Model) else factory
        if not isinstance(built, Model):
            raise ValueError(f"model {name!r}: {module_name}.{attr} did not give a Model")
        return built
    raise ValueError(
        f"unknown model {name!r}: use 'auto', 'local', 'anthropic:<model>', 'openai:<model>' "
        "or 'python:module:factory'"
    )
