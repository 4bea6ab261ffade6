"""``loop_guard``: the same call again and again is refused, whether the earlier ones failed or succeeded."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ..envelope import clip
from ._base import Allow, CallDecision, PendingCall, Policy, Refuse, RunState


def call_key(worker: str, tool: str, arguments: dict[str, Any]) -> str:
    return f"{worker}.{tool}:{json.dumps(arguments, sort_keys=True, default=str)}"


class LoopGuard(Policy):
    """A call identical to one that failed is refused at once (its error is repeated to the model), and a second
    such repeat ends the tool calls: a model that has not changed the call after reading the error twice will not.
    A call identical to successful ones is refused beyond ``max_same_call`` times (its result is already there), and
    asking for it once more after that refusal ends the tool calls too. A call that was only ever refused (by any
    policy) is refused again with the same reason, and the second repeat ends the tool calls. It comes first among
    the default policies, so that a repeat meets it before the policy that refused the call."""

    name: ClassVar[str] = "loop_guard"
    description: ClassVar[str] = "refuses repeated identical calls; ends a loop that asks again once refused"

    def __init__(self, max_same_call: int = 2) -> None:
        self.max_same_call = max_same_call

    def before_call(self, call: PendingCall, state: RunState) -> CallDecision:
        key = call_key(call.worker, call.tool, call.arguments)
        same = [r for r in state.records if call_key(r.worker, r.tool, r.arguments) == key]
        made = [r for r in same if r.outcome != "refused"]
        failed = [r for r in made if r.outcome != "ok"]
        refused_before = len(same) > len(made)
        if same and not made:
            # Refused every time (by this or another policy): the reason has not changed, nor will the answer.
            return Refuse(
                f"this exact call was already refused: {clip(same[-1].error or '', 500)}",
                end_tool_calls=len(same) >= 2,
            )
        if failed:
            return Refuse(
                f"this exact call already failed with: {clip(failed[-1].error or failed[-1].text, 500)} "
                "Change the arguments.",
                end_tool_calls=refused_before,
            )
        if len(made) >= self.max_same_call:
            # A model asking again after reading why it was refused will not stop asking.
            return Refuse(
                f"this exact call was already made {len(made)} times and its result is above; use it, or answer",
                end_tool_calls=refused_before,
            )
        return Allow()
