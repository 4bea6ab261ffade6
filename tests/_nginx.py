"""A real nginx load balancer for the scale-out tests: Debian's ``nginx`` package, run in the foreground from a
temporary folder on a free port, in front of the replicas a test starts. ``.ci/run`` installs the package.

The configuration is the one ``docs/scaling.md`` shows, with the test's ports: round robin, no buffering (progress
streams through as it is sent), the caller's Host header kept (the servers check it), and a replica that refuses
connections taken out of rotation so the request goes to the next one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncGenerator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import anyio

from tests._servers import free_port

TEMPLATE = """\
{user}worker_processes 1;
pid {folder}/nginx.pid;
events {{ worker_connections 256; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;

    upstream echelon {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        location /mcp {{
            proxy_pass http://echelon;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_buffering off;
            proxy_cache off;
            proxy_read_timeout 1h;
            proxy_next_upstream error timeout;
        }}
    }}
}}
"""


def binary() -> str | None:
    """The nginx executable, or None when nginx is not installed (it lives in /usr/sbin, often off PATH)."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def config_text(upstreams: Sequence[str], port: int, folder: Path) -> str:
    """nginx.conf balancing ``upstreams`` (``host:port``) on ``127.0.0.1:port``, its files kept in ``folder``."""
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=60s;" for u in upstreams)
    # As root, nginx's workers would run as `nobody`, who cannot enter a test's private temporary folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    return TEMPLATE.format(user=user, folder=folder, servers=servers, port=port)


@asynccontextmanager
async def load_balancer(upstreams: Sequence[str]) -> AsyncGenerator[str]:
    """Start nginx in front of ``upstreams``; yield its ``http://127.0.0.1:PORT/mcp``; stop it and remove its files."""
    nginx = binary()
    if nginx is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    folder = Path(tempfile.mkdtemp(prefix="echelon-nginx-"))
    port = free_port()
    (folder / "nginx.conf").write_text(config_text(upstreams, port, folder))
    command = [nginx, "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")]
    checked = await anyio.run_process([*command, "-t"], check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx refused its configuration: {checked.stderr.decode(errors='replace')}")
    process = await anyio.open_process(
        [*command, "-g", "daemon off;"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    try:
        with anyio.fail_after(20):
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"nginx exited: {(folder / 'error.log').read_text(errors='replace')}")
                try:
                    await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                    break
                except OSError:
                    await anyio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        with anyio.CancelScope(shield=True):
            if process.returncode is None:
                process.terminate()  # SIGTERM: nginx's fast shutdown
                with anyio.move_on_after(10):
                    await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()
            shutil.rmtree(folder, ignore_errors=True)
