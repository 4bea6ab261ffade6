"""Test doubles for models, shipped in the package so users can test their own hierarchies.

``ScriptedModel(steps=[...])`` answers with the given steps in order, records every request, and fails loudly on a
call it has no step for and (via ``assert_consumed``) on steps left unused. ``PurposeModel({...})`` answers by what
each request is for (``ModelRequest.purpose``: planning phases, planning steps, a step's tool loop, synthesis), so a
double for a whole hierarchy never depends on prompt wording. ``FunctionModel(fn)`` answers with ``fn(request)``.
All are real ``Model`` implementations: production code cannot tell them from a provider.
"""

from __future__ import annotations

import inspect
import itertools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

from pydantic import BaseModel

from .llm.base import Model, ModelRequest, ModelResponse, Purpose, TokenUsage, ToolCall

Answer: TypeAlias = ModelResponse | str | dict[str, Any] | BaseModel | ToolCall | list[ToolCall]
Step: TypeAlias = Answer | Callable[[ModelRequest], Answer] | Callable[[ModelRequest], Awaitable[Answer]]

_ids = itertools.count(1)


def tool_call(name: str, /, **arguments: Any) -> ToolCall:
    """A tool call step: ``tool_call("run_query", sql="SELECT 1")``."""
    return ToolCall(id=f"call_{next(_ids)}", name=name, arguments=arguments)


def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def to_response(answer: Answer, request: ModelRequest, model_name: str) -> ModelResponse:
    """Turn a scripted answer into a ModelResponse with plausible token counts (a scripted response that states
    its output tokens keeps them, e.g. to script a reply cut off at its allowance)."""
    if isinstance(answer, ModelResponse):
        if answer.usage.output_tokens:
            return answer.model_copy(update={"model_name": model_name})
        response = answer
    elif isinstance(answer, ToolCall):
        response = ModelResponse(tool_calls=[answer], stop_reason="tool_use")
    elif isinstance(answer, list):
        response = ModelResponse(tool_calls=list(answer), stop_reason="tool_use")
    elif isinstance(answer, BaseModel):
        response = ModelResponse(text=answer.model_dump_json())
    elif isinstance(answer, dict):
        response = ModelResponse(text=json.dumps(answer))
    else:
        response = ModelResponse(text=answer)
    prompt = request.system + "".join(m.content for m in request.messages)
    usage = TokenUsage(
        requests=1,
        input_tokens=_estimate_tokens(prompt),
        output_tokens=_estimate_tokens(
            response.text + "".join(c.model_dump_json() for c in response.tool_calls)
        ),
    )
    return response.model_copy(update={"usage": usage, "model_name": model_name})


class ScriptedModel(Model):
    """Answers with ``steps`` in order; records requests; fails on an unexpected or unconsumed call."""

    def __init__(self, steps: Sequence[Step], *, name: str = "test:scripted") -> None:
        self.name = name
        self.steps: list[Step] = list(steps)
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        index = len(self.requests) - 1
        if index >= len(self.steps):
            last = request.messages[-1].content[:300] if request.messages else ""
            raise AssertionError(
                f"{self.name} got unexpected call #{index + 1} (only {len(self.steps)} scripted); "
                f"last message: {last!r}"
            )
        step = self.steps[index]
        answer = step(request) if callable(step) and not isinstance(step, BaseModel) else step
        if inspect.isawaitable(answer):
            answer = await answer
        return to_response(answer, request, self.name)

    @property
    def remaining(self) -> int:
        return len(self.steps) - len(self.requests)

    def assert_consumed(self) -> None:
        """Fail if some scripted steps were never requested."""
        if self.remaining:
            raise AssertionError(
                f"{self.name}: {self.remaining} of {len(self.steps)} scripted steps were not used"
            )


class FunctionModel(Model):
    """Answers each request with ``fn(request)`` (sync or async); records requests."""

    def __init__(
        self,
        fn: Callable[[ModelRequest], Answer | Awaitable[Answer]],
        *,
        name: str = "test:function",
    ) -> None:
        self.name = name
        self.fn = fn
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        answer = self.fn(request)
        if inspect.isawaitable(answer):
            answer = await answer
        return to_response(answer, request, self.name)  # type: ignore[arg-type]


class PurposeModel(Model):
    """Answers by ``request.purpose``: a list is used in order for that purpose (a list whose items are all tool
    calls is one answer: parallel calls), anything else answers every request of it, a function of the request
    included. A purpose with no answer left fails loudly."""

    def __init__(self, answers: Mapping[Purpose, Step | list[Step]], *, name: str = "test:purpose") -> None:
        self.name = name
        self._queues: dict[Purpose, list[Step]] = {}
        self._fixed: dict[Purpose, Step] = {}
        for purpose, given in answers.items():
            if isinstance(given, list) and not all(isinstance(item, ToolCall) for item in given):
                self._queues[purpose] = list(given)  # pyright: ignore[reportUnknownArgumentType]
            else:
                self._fixed[purpose] = given  # pyright: ignore[reportArgumentType]
        self.used: dict[Purpose, int] = {}
        self.requests: list[ModelRequest] = []

    async def request(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        purpose = request.purpose
        if purpose in self._fixed:
            step = self._fixed[purpose]
        elif purpose in self._queues:
            index = self.used.get(purpose, 0)
            if index >= len(self._queues[purpose]):
                raise AssertionError(
                    f"{self.name}: purpose {purpose!r} asked {index + 1} times, {len(self._queues[purpose])} scripted"
                )
            self.used[purpose] = index + 1
            step = self._queues[purpose][index]
        else:
            raise AssertionError(f"{self.name} has no answer for purpose {purpose!r}")
        answer = step(request) if callable(step) and not isinstance(step, BaseModel) else step
        if inspect.isawaitable(answer):
            answer = await answer
        return to_response(answer, request, self.name)  # type: ignore[arg-type]

    def of(self, purpose: Purpose) -> list[ModelRequest]:
        """The requests made for ``purpose``, in order."""
        return [r for r in self.requests if r.purpose == purpose]
