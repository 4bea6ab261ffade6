"""Limits and budgets: what one delegation may spend, enforced at every level.

``Limits`` is the interface people and scripts set (``[limits]`` in ``echelon.toml``, ``delegate(limits=...)``).
A ``Budget`` is a running account of one delegation at one level: it is checked before every model and tool call,
charged after, and handed to the level below as what remains (``to_meta``/``from_meta`` in MCP ``_meta``), so a
manager enforces the orchestrator's remaining budget and the deadline is the same wall-clock instant everywhere.
Running out raises ``BudgetExhausted`` naming the limit; each level turns it into a ``partial`` result.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .llm.base import Model, ModelRequest, ModelResponse, TokenUsage
from .nesting import Level, chain_from_meta, chain_to_meta

LimitName = Literal[
    "max_model_calls", "max_tokens", "max_tool_calls", "deadline_seconds", "max_request_chars"
]
META_KEY = "io.echelon/budget"


class Limits(BaseModel):
    """What one delegation may spend, all levels together. The defaults are far above what a desktop request
    needs."""

    model_config = ConfigDict(extra="forbid")

    max_model_calls: int = Field(default=120, ge=1, description="Model calls, all levels together")
    max_tokens: int = Field(default=1_500_000, ge=1, description="Input plus output tokens, all levels")
    max_tool_calls: int = Field(default=200, ge=1, description="Calls of worker tools")
    deadline_seconds: float = Field(
        default=1800, gt=0, description="Wall-clock time for the whole delegation"
    )
    max_request_chars: int = Field(default=50_000, ge=1, description="Size of the request text")

    def merged(self, overrides: Mapping[str, Any] | None) -> Limits:
        """These limits with ``overrides`` (a ``delegate(limits=...)`` argument) applied and validated."""
        return Limits.model_validate(self.model_dump() | dict(overrides or {}))


class BudgetExhausted(Exception):
    """A limit ran out; ``limit`` names it."""

    def __init__(self, limit: LimitName, message: str) -> None:
        super().__init__(f"{message} ({limit})")
        self.limit: LimitName = limit


class Budget:
    """The remaining model calls, tokens and tool calls of a delegation, and its deadline (Unix time); ``chain``
    is the echelon levels it has passed through (``core.nesting``), handed down with it."""

    def __init__(
        self,
        *,
        model_calls: int,
        tokens: int,
        tool_calls: int,
        deadline: float,
        limits: Limits | None = None,
        chain: tuple[Level, ...] = (),
    ) -> None:
        self.model_calls = model_calls
        self.tokens = tokens
        self.tool_calls = tool_calls
        self.deadline = deadline
        self.limits = limits
        self.chain = chain

    @classmethod
    def start(cls, limits: Limits) -> Budget:
        """A fresh budget for a new delegation."""
        return cls(
            model_calls=limits.max_model_calls,
            tokens=limits.max_tokens,
            tool_calls=limits.max_tool_calls,
            deadline=time.time() + limits.deadline_seconds,
            limits=limits,
        )

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any] | None, fallback: Limits) -> Budget:
        """The budget a caller handed down in ``_meta``, or a fresh one from ``fallback`` when there is none (a
        manager called directly). What the caller sent can only lower the fallback, never raise it."""
        sent = (meta or {}).get(META_KEY)
        own = cls.start(fallback)
        own.chain = chain_from_meta(meta)
        if not isinstance(sent, Mapping):
            return own
        try:
            return cls(
                model_calls=min(int(sent["model_calls"]), own.model_calls),  # pyright: ignore[reportUnknownArgumentType]
                tokens=min(int(sent["tokens"]), own.tokens),  # pyright: ignore[reportUnknownArgumentType]
                tool_calls=min(int(sent["tool_calls"]), own.tool_calls),  # pyright: ignore[reportUnknownArgumentType]
                deadline=min(float(sent["deadline"]), own.deadline),  # pyright: ignore[reportUnknownArgumentType]
                limits=fallback,
                chain=own.chain,
            )
        except (KeyError, TypeError, ValueError):
            return own

    def to_meta(self) -> dict[str, Any]:
        """What remains, for the ``_meta`` of a call to the level below."""
        return {
            META_KEY: {
                "model_calls": max(self.model_calls, 0),
                "tokens": max(self.tokens, 0),
                "tool_calls": max(self.tool_calls, 0),
                "deadline": self.deadline,
            },
            **chain_to_meta(self.chain),
        }

    # -- checks and charges -------------------------------------------------------------------------------------

    @property
    def seconds_left(self) -> float:
        return self.deadline - time.time()

    def check_time(self) -> None:
        if self.seconds_left <= 0:
            raise BudgetExhausted("deadline_seconds", "the deadline of the delegation has passed")

    def check_model(self) -> None:
        """Raise BudgetExhausted if no model call may be made now."""
        self.check_time()
        if self.model_calls <= 0:
            raise BudgetExhausted(
                "max_model_calls", "the delegation has used all the model calls it may make"
            )
        if self.tokens <= 0:
            raise BudgetExhausted("max_tokens", "the delegation has used all the tokens it may use")

    def check_tool(self) -> None:
        """Raise BudgetExhausted if no tool call may be made now."""
        self.check_time()
        if self.tool_calls <= 0:
            raise BudgetExhausted("max_tool_calls", "the delegation has used all the tool calls it may make")

    def charge_model(self, usage: TokenUsage) -> None:
        self.model_calls -= usage.requests
        self.tokens -= usage.input_tokens + usage.output_tokens

    def charge_tool(self, calls: int = 1) -> None:
        self.tool_calls -= calls

    def charge(self, *, model_calls: int, tokens: int, tool_calls: int) -> None:
        """Charge what a level below reported it used (its ``Usage``)."""
        self.model_calls -= model_calls
        self.tokens -= tokens
        self.tool_calls -= tool_calls

    def snapshot(self) -> Budget:
        """A copy to hand to one step: the step spends the copy, and the run charges what the step reports it used,
        so a step replayed from its record charges the run exactly as the first time."""
        return Budget(
            model_calls=self.model_calls,
            tokens=self.tokens,
            tool_calls=self.tool_calls,
            deadline=self.deadline,
            limits=self.limits,
            chain=self.chain,
        )

    def timeout(self, cap: float | None = None) -> float:
        """Seconds a call may take: what is left of the deadline, at most ``cap``."""
        left = max(self.seconds_left, 0.001)
        return min(left, cap) if cap is not None else left

    def model(self, model: Model) -> Model:
        """``model`` with every request checked against and charged to this budget."""
        return BudgetedModel(model, self)


class BudgetedModel(Model):
    """A model whose requests spend a budget: refused before the call when a limit is spent, and bounded by the
    deadline while it runs (a slow local generation past the deadline is abandoned)."""

    def __init__(self, inner: Model, budget: Budget) -> None:
        self.inner = inner
        self.budget = budget
        self.name = inner.name
        self.price = inner.price

    async def request(self, request: ModelRequest) -> ModelResponse:
        import anyio

        self.budget.check_model()
        # Reserve the call before awaiting it, so concurrent steps cannot together overspend the count.
        self.budget.model_calls -= 1
        try:
            with anyio.fail_after(self.budget.timeout()):
                response = await self.inner.request(request)
        except TimeoutError:
            raise BudgetExhausted(
                "deadline_seconds", "the deadline of the delegation passed during a model call"
            ) from None
        finally:
            self.budget.model_calls += 1
        self.budget.charge_model(response.usage)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
