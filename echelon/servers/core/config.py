"""The hierarchy file, ``echelon.toml``: the orchestrator, its managers and their workers.

Every problem is reported with the file, the key and what is wrong (``echelon.toml: managers.data.workers: unknown
worker 'sq' (workers: sql, math)``), and all problems are reported at once, so a user fixes a file in one pass.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ._expand import expand
from .budget import Limits
from .llm import ModelSettings
from .paths import data_dir
from .plan import PlannerName, planner_name
from .policies import DEFAULT_POLICIES, PolicyName
from .runs import RunsSettings
from .target import Target

_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
CONFIG_NAME = "echelon.toml"


class WorkerConfig(Target):
    """A worker: an ``mcpServers``-style entry, plus an optional description for the planners."""

    description: str = ""
    tools: list[str] | None = Field(
        default=None,
        description="Only these of the worker's tools are offered to its managers (default: all). Fewer tools "
        "make shorter prompts and fewer wrong turns for small models.",
    )


class ManagerConfig(BaseModel):
    """A domain manager: what it owns, its model and planner, its workers and limits."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1)
    workers: list[str]
    model: str = "auto"
    planner: PlannerName = "StrategicDecomposerPlanner"
    max_steps: int = Field(default=6, ge=1, le=20)
    max_tool_calls: int = Field(default=6, ge=1, le=50, description="Tool calls allowed in one step's loop")
    step_timeout_seconds: float = Field(default=300, gt=0, description="Longest one worker call may take")
    policies: list[PolicyName] = Field(
        default_factory=lambda: list(DEFAULT_POLICIES),
        description="The policies of its tool loop and synthesis",
    )
    delivers: Literal["answers", "files"] = Field(
        default="answers",
        description="'files' for a manager whose phases make files (decks, documents): a plan includes such a "
        "phase only when the request asks for a file",
    )
    # How the orchestrator reaches this manager; default: a stdio subprocess of this same config.
    url: str | None = None
    headers: dict[str, str] = Field(
        default_factory=dict,
        repr=False,
        description='HTTP headers sent to a manager at `url`, e.g. {Authorization = "Bearer ${TOKEN}"}',
    )
    command: str | None = None
    args: list[str] = Field(default_factory=list)

    @field_validator("workers")
    @classmethod
    def _has_workers(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a manager needs at least one worker")
        return value

    @field_validator("planner", mode="before")
    @classmethod
    def _planner_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            return planner_name(value)
        return value


class OrchestratorConfig(BaseModel):
    """The top level: its (powerful) model, whether it synthesizes across managers, and its limits."""

    model_config = ConfigDict(extra="forbid")

    model: str = "auto"
    synthesis: bool = True
    max_phases: int = Field(default=5, ge=1, le=20)
    deliverables: Literal["question", "plan"] = Field(
        default="question",
        description='What decides whether a file-making phase (a manager with delivers = "files") runs beside '
        "other work: 'question' asks the model that one yes/no question on its own (one more small call, only "
        "when a plan makes a file beside other work); 'plan' trusts the plan's asks_for and saves the call "
        "(benchmarks.deliverables measures both on the question set)",
    )
    phase_timeout_seconds: float = Field(default=900, gt=0, description="Longest one phase may take")
    max_replans: int = Field(
        default=1, ge=0, le=3, description="Times the remaining work is planned anew after a manager fails"
    )
    policies: list[PolicyName] = Field(
        default_factory=lambda: ["figure_grounding", "answers_request", "row_figures"],
        description="The policies of the final synthesis",
    )
    wait_seconds: float = Field(
        default=45, gt=0, description="How long delegate waits before answering with a run id (desktop hosts)"
    )


class WorkflowsConfig(BaseModel):
    """``[workflows]``: folders whose workflow files (*.toml, *.json) the orchestrator offers as tools."""

    model_config = ConfigDict(extra="forbid")

    paths: list[Path] = Field(default_factory=list, description="Folders, relative to this file's folder")


class HttpConfig(BaseModel):
    """``[http]``: who may call the orchestrator and managers when they serve Streamable HTTP.

    Flags add to it: ``--auth-token-file`` replaces ``auth_token_file``; ``--allowed-host``/``--allowed-origin``
    add values.
    """

    model_config = ConfigDict(extra="forbid")

    auth_token_file: Path | None = Field(
        default=None,
        description="File of hashed tokens (lines from `echelon token new`); relative to this file's folder",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Host headers accepted besides the bind address and loopback names"
    )
    allowed_origins: list[str] = Field(
        default_factory=list, description="Origin headers accepted besides loopback"
    )


class HierarchyConfig(BaseModel):
    """The whole ``echelon.toml``."""

    model_config = ConfigDict(extra="forbid")

    prepare: str | None = Field(
        default=None,
        description="A Python callable 'module:function' the orchestrator and managers call once, with no "
        "arguments, before they serve (e.g. to generate the data their workers read)",
    )
    orchestrator: OrchestratorConfig = Field(default_factory=OrchestratorConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    models: ModelSettings = Field(default_factory=ModelSettings)
    limits: Limits = Field(default_factory=Limits)
    runs: RunsSettings = Field(default_factory=RunsSettings)
    workflows: WorkflowsConfig = Field(default_factory=WorkflowsConfig)
    managers: dict[str, ManagerConfig] = Field(min_length=1)
    workers: dict[str, WorkerConfig] = Field(default_factory=dict)
    source: Path | None = Field(default=None, exclude=True)

    @field_validator("prepare")
    @classmethod
    def _callable_name(cls, value: str | None) -> str | None:
        if value is not None and not _CALLABLE.match(value):
            raise ValueError(f"{value!r} is not 'module:function' (e.g. 'mypackage.data:prepare')")
        return value

    def manager_target(self, key: str) -> Target:
        """How the orchestrator reaches manager ``key``: its url/command, or this config run as a subprocess."""
        manager = self.managers[key]
        if manager.url:
            return Target(url=manager.url, headers=manager.headers)
        if manager.command:
            return Target(command=manager.command, args=manager.args)
        args = ["-m", "echelon.servers.managers", "--name", key]
        if self.source is not None:
            args += ["--config", str(self.source)]
        return Target(command=sys.executable, args=args)

    def worker_targets(self, manager: str) -> dict[str, Target]:
        """The targets of one manager's workers."""
        return {name: self.workers[name] for name in self.managers[manager].workers}


class ConfigProblem(BaseModel):
    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {self.message}" if self.key else f"{self.file}: {self.message}"


class ConfigError(ValueError):
    """The config has problems; ``problems`` lists every one."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def builtin_variables(config_dir: Path) -> dict[str, Callable[[], str]]:
    """Variables a config may use besides the environment's (computed only when used; the environment wins)."""
    return {
        "ECHELON_PYTHON": lambda: sys.executable,
        "ECHELON_CONFIG_DIR": lambda: str(config_dir),
        "ECHELON_DATA_DIR": lambda: str(data_dir()),
    }


def _expand(value: Any, variables: dict[str, Callable[[], str]], key: str, problems: list[str]) -> Any:
    if isinstance(value, str):

        def lookup(name: str) -> str | None:
            found = os.environ.get(name)
            if found is None and name in variables:
                found = variables[name]()
            return found

        expanded, found_problems = expand(value, lookup)
        problems.extend(f"{key}: {problem}" for problem in found_problems)
        return expanded
    if isinstance(value, list):
        return [_expand(v, variables, f"{key}[{i}]", problems) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _expand(v, variables, f"{key}.{k}" if key else k, problems) for k, v in value.items()}
    return value


def _loc(loc: tuple[int | str, ...]) -> str:
    # Pydantic appends validator names (e.g. 'function-after[...]') to locations; they mean nothing to users.
    parts = [str(p) for p in loc if not str(p).startswith(("function-", "union["))]
    return ".".join(parts)


def parse_config(
    data: dict[str, Any], *, file: str = "<config>", config_dir: Path | None = None
) -> HierarchyConfig:
    """Validate a config mapping; raise ConfigError listing every problem."""
    config_dir = config_dir or Path.cwd()
    expansion_problems: list[str] = []
    data = _expand(data, builtin_variables(config_dir), "", expansion_problems)
    problems = [
        ConfigProblem(file=file, key=p.split(": ", 1)[0], message=p.split(": ", 1)[1])
        for p in expansion_problems
    ]
    problems += _check_references(data, file)
    try:
        config = HierarchyConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown key (check the spelling)"
            problems.append(ConfigProblem(file=file, key=_loc(err["loc"]), message=message))
        raise ConfigError(sorted(problems, key=lambda p: p.key)) from None
    problems += _cross_check(config, file)
    if problems:
        raise ConfigError(problems)
    return config


def _check_references(data: dict[str, Any], file: str) -> list[ConfigProblem]:
    """Manager -> worker references, checked on the raw data so they are reported even when other keys are bad."""
    problems: list[ConfigProblem] = []
    managers, workers = data.get("managers"), data.get("workers") or {}
    if not isinstance(managers, dict) or not isinstance(workers, dict):
        return problems
    known = ", ".join(sorted(workers)) or "none defined"
    for key, manager in managers.items():
        names = manager.get("workers") if isinstance(manager, dict) else None
        if not isinstance(names, list):
            continue
        for i, worker in enumerate(names):
            if isinstance(worker, str) and worker not in workers:
                problems.append(
                    ConfigProblem(
                        file=file,
                        key=f"managers.{key}.workers[{i}]",
                        message=f"unknown worker {worker!r} (workers: {known})",
                    )
                )
    return problems


def _cross_check(config: HierarchyConfig, file: str) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for key, manager in config.managers.items():
        if manager.url and manager.command:
            problems.append(
                ConfigProblem(file=file, key=f"managers.{key}", message="give 'url' or 'command', not both")
            )
        if manager.headers and not manager.url:
            problems.append(
                ConfigProblem(
                    file=file,
                    key=f"managers.{key}.headers",
                    message="headers apply only to a manager with 'url'",
                )
            )
    for name, worker in config.workers.items():
        if worker.command and "/" in worker.command and not Path(worker.command).exists():
            problems.append(
                ConfigProblem(
                    file=file, key=f"workers.{name}.command", message=f"{worker.command} does not exist"
                )
            )
        if worker.cwd and not Path(worker.cwd).is_dir():
            problems.append(
                ConfigProblem(
                    file=file, key=f"workers.{name}.cwd", message=f"{worker.cwd} is not a directory"
                )
            )
    return problems


def unused_workers(config: HierarchyConfig) -> list[str]:
    """Workers no manager uses (a warning, not an error)."""
    used = {w for m in config.managers.values() for w in m.workers}
    return sorted(set(config.workers) - used)


def resolve_config_path(
    path: str | Path | None = None, *, fallback: Path | None = None, cwd: Path | None = None
) -> Path:
    """The config to use: ``path``, else ``$ECHELON_CONFIG``, else ``echelon.toml`` in ``cwd`` (default: the current
    folder) or the nearest parent that has one, else ``fallback``. Raises ConfigError when none is found."""
    chosen = path or os.environ.get("ECHELON_CONFIG")
    if chosen:
        return Path(chosen).expanduser().resolve()
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder / CONFIG_NAME
    if fallback is not None:
        return fallback
    message = (
        f"no {CONFIG_NAME} found in {here} or its parents: pass --config FILE, set ECHELON_CONFIG, or create "
        f"one (the README shows the format)"
    )
    raise ConfigError([ConfigProblem(file=CONFIG_NAME, key="", message=message)])


def load_config(path: str | Path | None = None, *, fallback: Path | None = None) -> HierarchyConfig:
    """Read and validate the hierarchy file (see ``resolve_config_path``)."""
    file = resolve_config_path(path, fallback=fallback)
    if not file.is_file():
        raise ConfigError([ConfigProblem(file=str(file), key="", message="file not found")])
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([ConfigProblem(file=str(file), key="", message=f"not valid TOML: {exc}")]) from None
    config = parse_config(data, file=str(file), config_dir=file.parent)
    config.source = file
    override = os.environ.get("ECHELON_MODEL")
    if override:
        # `echelon ask --model X` runs every level on X; subprocesses inherit the variable.
        config.orchestrator.model = override
        for manager in config.managers.values():
            manager.model = override
    return config


def prepare_function(config: HierarchyConfig) -> Callable[[], object] | None:
    """The config's ``prepare`` callable, imported; ConfigError naming the key when it cannot be."""
    if config.prepare is None:
        return None
    module_name, attribute = config.prepare.split(":")
    file = str(config.source or "<config>")

    def problem(message: str) -> ConfigError:
        return ConfigError([ConfigProblem(file=file, key="prepare", message=message)])

    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise problem(
            f"cannot import {module_name!r} ({exc}); install the package that provides it into the Python "
            f"running echelon ({sys.executable})"
        ) from None
    function = getattr(module, attribute, None)
    if function is None:
        raise problem(f"module {module_name!r} has no {attribute!r}")
    if not callable(function):
        raise problem(f"{config.prepare!r} is a {type(function).__name__}, not a function")
    return function


def run_prepare(config: HierarchyConfig) -> None:
    """Call the config's ``prepare`` callable, if it names one (servers do this once, before they serve)."""
    function = prepare_function(config)
    if function is not None:
        function()


def workflow_files(config: HierarchyConfig) -> list[Path]:
    """The workflow files of the configured folders, in name order (a folder that is missing is skipped)."""
    base = config.source.parent if config.source is not None else Path.cwd()
    found: list[Path] = []
    for folder in config.workflows.paths:
        directory = folder if folder.is_absolute() else base / folder
        if directory.is_dir():
            found += sorted(p for p in directory.iterdir() if p.suffix in (".toml", ".json") and p.is_file())
    return found


def config_secrets(config: HierarchyConfig) -> list[str]:
    """The values a config declares for workers' ``env`` and for ``headers`` (tokens often come that way): they
    must never reach a run record or a trace."""
    values = [v for w in config.workers.values() for v in [*w.env.values(), *w.headers.values()]]
    return values + [v for m in config.managers.values() for v in m.headers.values()]
