"""The chain of levels a delegation passed through: handed down with the budget, refusing a level seen before."""

from __future__ import annotations

import pytest

from echelon.servers.core.budget import Budget, Limits
from echelon.servers.core.config import parse_config
from echelon.servers.core.nesting import Level, RecursiveDelegation, enter, fingerprint, level_of

HIERARCHY = {
    "managers": {"numbers": {"description": "Arithmetic", "workers": ["calc"]}},
    "workers": {"calc": {"command": "calc"}},
}


def test_the_chain_goes_down_with_the_budget_and_each_level_adds_itself() -> None:
    config = parse_config(HIERARCHY)
    budget = Budget.start(Limits())
    budget.chain = enter(budget.chain, level_of(config, "orchestrator"))
    below = Budget.from_meta(budget.to_meta(), Limits())
    below.chain = enter(below.chain, level_of(config, "manager", "numbers"))
    assert [level.kind for level in below.chain] == ["orchestrator", "manager"]


def test_a_level_already_in_the_chain_is_refused_naming_the_chain() -> None:
    me = level_of(parse_config(HIERARCHY), "orchestrator")
    chain = enter(enter((), me), Level(kind="manager", name="research", hierarchy="0123456789ab"))
    with pytest.raises(RecursiveDelegation) as refused:
        enter(chain, me)
    assert "called again by its own delegation" in str(refused.value)
    assert "manager 'research'" in str(refused.value)


def test_another_hierarchy_with_the_same_manager_names_is_a_different_level() -> None:
    other = {**HIERARCHY, "workers": {"calc": {"command": "another-calc"}}}
    assert fingerprint(parse_config(HIERARCHY)) != fingerprint(parse_config(other))
    chain = enter((), level_of(parse_config(HIERARCHY), "orchestrator"))
    assert len(enter(chain, level_of(parse_config(other), "orchestrator"))) == 2


def test_an_unreadable_chain_from_a_caller_is_ignored() -> None:
    meta = {"io.echelon/chain": [{"kind": "boss"}]}
    assert Budget.from_meta(meta, Limits()).chain == ()
