"""The text the orchestrator's models read: phase results to synthesize, and what a replan must still do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..core.envelope import PhaseResult, clip
from ..core.evidence import evidence_text


def synthesis_content(request: str, phases: Sequence[PhaseResult]) -> str:
    """The request and every phase's answer, with the data its tools returned and the files it made."""
    parts = [
        f"Phase {p.phase!r} ({p.manager}, {p.status}):\n{clip(p.output, 3000)}"
        + evidence_text(p.calls(), last=2, limit=1200)
        + "".join(f"\nfile: {a.path}" for a in p.artifacts)
        for p in phases
    ]
    return f"Request: {request}\n\nPhase results:\n" + "\n\n".join(parts)


def grounded_answers(request: str, phases: Sequence[PhaseResult]) -> str:
    """The request and the answers of the phases no policy objected to: what the final answer may draw on besides
    the tools' results."""
    kept = [p.output for p in phases if not any(e.kind == "grounding" for e in p.errors)]
    return "\n".join([request, *kept])


def fallback_text(phases: Sequence[PhaseResult]) -> str:
    """The phases' own answers, the output when the final synthesis gave none."""
    return "\n\n".join(f"[{p.phase} ({p.manager}, {p.status})]\n{p.output}" for p in phases)


def replan_request(request: str, done: Mapping[str, PhaseResult], failed: Sequence[PhaseResult]) -> str:
    """The request again, with what is done and what failed, for planning only the rest."""
    finished = (
        "\n".join(f"- {p.phase} ({p.manager}): {clip(p.output, 400)}" for p in done.values()) or "- nothing"
    )
    broken = "\n".join(
        f"- {p.phase} ({p.manager}): {clip(p.errors[-1].message if p.errors else p.output, 400)}"
        for p in failed
    )
    return (
        f"{request}\n\nAlready done (do not plan these again):\n{finished}\n\nThese phases failed or could not run:\n"
        f"{broken}\n\nPlan only the work that is still to do; a different manager may do it if one fits."
    )
