"""Hierarchies inside hierarchies: a whole echelon hierarchy (its orchestrator, or one of its managers) can be a
worker of another. Each echelon level a delegation passes through adds itself to the chain of levels handed down
in ``_meta`` with the budget, so a level reached again through its own workers (a config that, directly or through
other hierarchies, names itself as a worker) refuses the call with a clear error instead of recursing without end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

if TYPE_CHECKING:
    from .config import HierarchyConfig

CHAIN_KEY = "io.echelon/chain"


class Level(BaseModel):
    """One echelon level a delegation passed through: the orchestrator or a manager of one hierarchy.

    ``hierarchy`` is a digest of the config's managers and workers, so the same hierarchy is recognised wherever
    it runs (replicas, other machines); ``source`` only helps a person read the chain."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["orchestrator", "manager"]
    name: str = ""
    hierarchy: str
    source: str = ""

    def same(self, other: Level) -> bool:
        return (self.kind, self.name, self.hierarchy) == (other.kind, other.name, other.hierarchy)

    def __str__(self) -> str:
        named = f" {self.name!r}" if self.name else ""
        where = f" of {self.source}" if self.source else ""
        return f"{self.kind}{named}{where} [{self.hierarchy}]"


class RecursiveDelegation(Exception):
    """A level was reached again through its own workers; the message names the chain and what to change."""


def fingerprint(config: HierarchyConfig) -> str:
    """A digest of what a hierarchy is made of: its managers and workers as configured."""
    shape = {
        "managers": {k: m.model_dump(mode="json") for k, m in sorted(config.managers.items())},
        "workers": {k: w.model_dump(mode="json") for k, w in sorted(config.workers.items())},
    }
    return hashlib.sha256(json.dumps(shape, sort_keys=True, default=str).encode()).hexdigest()[:12]


def level_of(config: HierarchyConfig, kind: Literal["orchestrator", "manager"], name: str = "") -> Level:
    source = config.source.name if config.source is not None else ""
    return Level(kind=kind, name=name, hierarchy=fingerprint(config), source=source)


def chain_from_meta(meta: Mapping[str, Any] | None) -> tuple[Level, ...]:
    """The levels a caller says the delegation has passed through (none when it is not an echelon level, or sent
    something unreadable: a chain only ever refuses, so an unreadable one is ignored)."""
    sent = (meta or {}).get(CHAIN_KEY)
    if not isinstance(sent, list):
        return ()
    try:
        return tuple(Level.model_validate(item) for item in sent)  # pyright: ignore[reportUnknownVariableType]
    except ValidationError:
        return ()


def chain_to_meta(chain: Sequence[Level]) -> dict[str, Any]:
    return {CHAIN_KEY: [level.model_dump() for level in chain]} if chain else {}


def enter(chain: Sequence[Level], me: Level) -> tuple[Level, ...]:
    """The chain with ``me`` added; ``RecursiveDelegation`` when ``me`` is already in it."""
    if any(me.same(level) for level in chain):
        path = " -> ".join(str(level) for level in [*chain, me])
        raise RecursiveDelegation(
            f"refused: the {me} was called again by its own delegation ({path}). A hierarchy that reaches "
            "itself through its workers would call itself without end; declare a different hierarchy as that "
            "worker, or remove it"
        )
    return (*chain, me)
