"""resolve_model: names -> models, ``auto``'s order, settings passed through, helpful errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from echelon.servers.core.llm import (
    DEFAULT_MODELS,
    Message,
    Model,
    ModelRequest,
    ModelSettings,
    Role,
    allow_model_requests,
    describe_auto,
    resolve_model,
)
from echelon.servers.core.llm.anthropic import AnthropicModel
from echelon.servers.core.llm.openai import OpenAIModel
from echelon.servers.core.testing import ScriptedModel

from ._fake_anthropic import fake_anthropic, message, text

SHARED = ScriptedModel(["shared answer"], name="test:shared")


def build_scripted(role: Role) -> Model:
    """A ``python:`` factory: gets the role, returns a Model."""
    return ScriptedModel([f"hello from the {role}"], name=f"test:{role}")


def build_nothing(role: Role) -> object:
    return "not a model"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ECHELON_OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_auto_prefers_anthropic_when_its_key_is_set(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-ant")
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    assert describe_auto("orchestrator") == "anthropic:claude-sonnet-4-5"
    assert describe_auto("manager") == "anthropic:claude-haiku-4-5"
    model = resolve_model("auto", role="orchestrator")
    assert isinstance(model, AnthropicModel)
    assert model.name == "anthropic:claude-sonnet-4-5"


def test_auto_uses_openai_when_only_its_key_or_base_url_is_set(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OPENAI_API_KEY", "sk-openai")
    model = resolve_model("auto")
    assert isinstance(model, OpenAIModel)
    assert model.name == f"openai:{DEFAULT_MODELS['openai']['manager']}"
    clean_env.delenv("OPENAI_API_KEY")
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    clean_env.setenv("ECHELON_OPENAI_MODEL", "qwen2.5-coder:1.5b")
    assert describe_auto("orchestrator") == "openai:qwen2.5-coder:1.5b"
    model = resolve_model("auto", role="orchestrator")
    assert isinstance(model, OpenAIModel)
    assert model.model_name == "qwen2.5-coder:1.5b"


def test_auto_falls_back_to_the_local_model_without_keys(clean_env: pytest.MonkeyPatch) -> None:
    assert describe_auto("orchestrator") == "local"
    assert describe_auto("manager") == "local"


def test_provider_without_a_model_gets_the_role_default() -> None:
    assert resolve_model("anthropic", role="manager").name == "anthropic:claude-haiku-4-5"
    assert resolve_model(" openai: ", role="orchestrator").name == "openai:gpt-4.1"
    assert resolve_model("openai:gpt-4.1-nano").name == "openai:gpt-4.1-nano"


@pytest.mark.anyio
async def test_settings_reach_the_provider(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("MY_CLAUDE_KEY", "sk-from-settings")
    async with fake_anthropic() as fake:
        settings = ModelSettings(
            base_url=fake.url, api_key_env="MY_CLAUDE_KEY", max_retries=0, timeout_seconds=5
        )
        model = resolve_model("anthropic:claude-test", settings=settings)
        assert isinstance(model, AnthropicModel)
        assert (model.max_retries, model.timeout) == (0, 5)
        fake.reply(message(text("configured")))
        with allow_model_requests():
            response = await model.request(ModelRequest(messages=[Message(role="user", content="hi")]))
        await model.aclose()
    assert response.text == "configured"
    assert fake.requests[0].headers["authorization"] == "Bearer sk-from-settings"


def test_resolving_a_provider_does_not_import_its_sdk() -> None:
    code = (
        "import sys; from echelon.servers.core.llm import resolve_model; "
        "resolve_model('anthropic:claude-test'); resolve_model('openai:gpt-test'); "
        "print(sorted(m for m in ('anthropic', 'openai') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_unknown_provider_names_the_accepted_forms() -> None:
    with pytest.raises(ValueError, match="unknown model 'gemini:pro'") as caught:
        resolve_model("gemini:pro")
    for form in ("'auto'", "'local'", "'anthropic:<model>'", "'openai:<model>'", "'python:module:factory'"):
        assert form in str(caught.value)


@pytest.mark.anyio
async def test_python_factory_gets_the_role_and_returns_a_model() -> None:
    model = resolve_model(f"python:{__name__}:build_scripted", role="orchestrator")
    assert model.name == "test:orchestrator"
    response = await model.request(ModelRequest(messages=[Message(role="user", content="hi")]))
    assert response.text == "hello from the orchestrator"


def test_python_name_may_point_at_a_model_instance() -> None:
    assert resolve_model(f"python:{__name__}:SHARED") is SHARED


def test_python_name_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=re.escape("expected 'python:package.module:factory'")):
        resolve_model("python:just_a_module")
    with pytest.raises(ValueError, match="did not give a Model"):
        resolve_model(f"python:{__name__}:build_nothing")
    with pytest.raises(ModuleNotFoundError):
        resolve_model("python:no_such_module_here:factory")
