"""A real nginx in front of one hub, for tests of what a proxy changes (forwarded addresses)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path

import httpx

from tests.support.services import free_port, require_executable


class NginxProxy:
    """nginx listening on `listen` (a loopback address) and connecting to the hub from `bind`,
    so the hub sees the proxy at that address; it sets X-Forwarded-For/-Proto as
    deploy/nginx.conf does."""

    def __init__(self, workdir: Path, upstream: str, *, listen: str, bind: str) -> None:
        self.binary = require_executable("nginx", "/usr/sbin/nginx")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.listen = listen
        self.url = f"http://{listen}:{self.port}"
        self.ws_url = f"ws://{listen}:{self.port}/ws"
        temp = "\n".join(
            f"  {t}_temp_path {workdir}/{t};"
            for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            f"""worker_processes 1;
pid {workdir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  access_log off;
{temp}
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
  server {{
    listen {listen}:{self.port};
    location / {{
      proxy_pass http://{upstream.removeprefix("http://")};
      proxy_bind {bind};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_read_timeout 1h;
    }}
  }}
}}
"""
        )
        self.proc: asyncio.subprocess.Process | None = None

    def _args(self) -> list[str]:
        log = str(self.dir / "error.log")
        return [self.binary, "-p", str(self.dir), "-e", log, "-c", str(self.conf)]

    async def start(self) -> NginxProxy:
        check = subprocess.run([*self._args(), "-t", "-q"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.proc = await asyncio.create_subprocess_exec(*self._args(), "-g", "daemon off;")
        async with httpx.AsyncClient(timeout=2) as http:
            for _ in range(200):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return self
                await asyncio.sleep(0.05)
        await self.stop()
        raise RuntimeError("nginx did not come up:\n" + self.errors())

    def errors(self) -> str:
        path = self.dir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.terminate()
        try:
            async with asyncio.timeout(10):
                await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        self.proc = None
