"""Make the local model ready in the foreground, before a hierarchy starts: the runtime is checked, the model is
fetched and verified with visible progress, and the shared server is started and answering.

Without this, the first request of a hierarchy does all of it inside the orchestrator or a manager process,
where a 1 GB download or a failure shows only as a long silence and then a generic error. A failure here stops
the command with its cause and its fix (``ModelError``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

import anyio

from ._guard import ENV_VAR as ENV_BLOCK
from ._install_hints import require_local_runtime
from ._local_runtime import DEFAULT_IDLE_TIMEOUT, ENV_URL, ensure_local_server, running_server
from ._model_files import KnownModel, ensure_model, is_fetched, resolve_model_spec
from ._progress import Reporter, reporter_for


def prepare_local_model(
    spec: str | KnownModel | None = None,
    *,
    progress: Reporter | None = None,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
) -> str:
    """Fetch and verify the model for ``spec`` and start the shared server; its base URL.

    ``progress`` defaults to a bar on a terminal and plain lines otherwise (both on stderr). Raises ModelError
    (LocalRuntimeMissing, ModelFileError, IndexUnreachable, LocalServerFailed) saying what failed and the fix."""
    require_local_runtime()
    if url := os.environ.get(ENV_URL, "").strip():
        return url.rstrip("/").removesuffix("/v1")
    report = progress or reporter_for()
    resolved = resolve_model_spec(spec)
    title = resolved.known.title if resolved.known else resolved.path.name
    if url := anyio.run(running_server, spec):
        report.say(f"using the running local model server ({title}) at {url}")
        return url
    if resolved.known is not None and not is_fetched(resolved):
        with report.download(f"downloading {title}") as callback:
            ensure_model(spec, progress=callback)
        report.say(f"model fetched and verified: {resolved.path}")
    else:
        ensure_model(spec)  # a user's own file: checked, not fetched
    report.say(f"starting the local model server ({title}); loading takes a few seconds")
    started = time.monotonic()
    url = anyio.run(lambda: ensure_local_server(spec, idle_timeout=idle_timeout))
    report.say(f"local model server ready at {url} ({time.monotonic() - started:.1f} s)")
    return url


def local_specs(model_names: Iterable[str]) -> list[str | None]:
    """The local model specs (None: the default) among model names, ``auto`` resolved as it would be now."""
    from . import describe_auto

    specs: dict[str, str | None] = {}
    for raw in model_names:
        name = raw.strip()
        if name == "auto":
            name = describe_auto()
        provider, _, model = name.partition(":")
        if provider == "local":
            spec = model or None
            specs.setdefault(resolve_model_spec(spec).state_key, spec)
    return list(specs.values())


def prepare_local_models(model_names: Iterable[str], *, progress: Reporter | None = None) -> list[str]:
    """``prepare_local_model`` for every level whose model resolves to ``local``; their URLs. Nothing happens
    while real model requests are blocked (a test suite): such a run never reaches the model."""
    specs = local_specs(model_names)
    if not specs or os.environ.get(ENV_BLOCK, "") not in ("", "0"):
        return []
    return [prepare_local_model(spec, progress=progress) for spec in specs]
