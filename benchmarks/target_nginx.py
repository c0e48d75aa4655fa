"""The fast benchmark target: nginx from Debian's packages, answering fixed JSON bodies.

``start()`` installs nginx with apt-get when it is missing (root only), writes a
config into a temporary prefix and runs nginx as a non-daemon child on a free
127.0.0.1 port: one worker (the client under test gets the other core), keep-alive
on, no access log. Small bodies are served with ``return 200 '<json>'``. nginx
refuses a config token over 4 KB ("too long parameter"), so larger bodies (the
105 KB SearchMaterial answer, the 21 KB DescribeMaterials ones) are files, reached
by ``return 405`` + ``error_page 405 =200 /_bodies/<name>.json``: the error page is
an internal redirect that turns the POST into a GET, which the static module
serves (a POST straight to a static file is a 405). ``check()`` verifies every
body byte for byte after start.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import bodies

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx")


def find_nginx() -> str | None:
    for name in NGINX_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def ensure_nginx(log: list[str]) -> str | None:
    """The nginx binary, installing Debian's package first if needed (None if impossible)."""
    found = find_nginx()
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        log.append("nginx missing and apt-get unavailable (or not root): using the aiohttp target")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    log.append("installing nginx with apt-get")
    for cmd in (
        ["apt-get", "update", "-q"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            log.append(f"{' '.join(cmd)} failed: {done.stderr.strip()[-300:]}")
            return None
    return find_nginx()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _quote(body: bytes) -> str:
    text = body.decode()
    # nginx single-quoted strings: escape backslashes and quotes; '$' would start a variable.
    if "$" in text:
        raise ValueError("nginx return bodies must not contain '$'")
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


INLINE_LIMIT = 3500  # bytes; nginx's config tokens are limited to 4 KB


def _answer(name: str, body: bytes) -> str:
    """The nginx directives that answer ``body`` with a 200."""
    if len(body) <= INLINE_LIMIT:
        return f"return 200 {_quote(body)};"
    return f"error_page 405 =200 /_bodies/{name}.json; return 405;"


def render_config(prefix: Path, port: int, workers: int = 1) -> str:
    payloads = bodies.build()
    files = prefix / "_bodies"
    files.mkdir(exist_ok=True)
    for name, body in payloads.items():
        (files / f"{name}.json").write_bytes(body)
        (files / f"{name}.json").chmod(0o644)
    files.chmod(0o755)
    prefix.chmod(0o755)  # the worker runs as nobody when started by root
    action_locations = "\n".join(
        f"        location = {path} {{ {_answer(name, payloads[name])} }}"
        for path, name in bodies.ROUTES.items()
    )
    return f"""
worker_processes {workers};
worker_rlimit_nofile 65536;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
daemon off;
events {{
    worker_connections 32768;
    multi_accept on;
}}
http {{
    access_log off;
    default_type application/json;
    keepalive_timeout 75s;
    keepalive_requests 10000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    client_body_buffer_size 64k;
    server {{
        listen 127.0.0.1:{port} backlog=8192;
        location = / {{
            if ($request_method = GET) {{ return 200 {_quote(payloads["login"])}; }}
            if ($http_x_tc_action = "DescribeMaterials") {{ rewrite ^ /_vendor last; }}
            return 200 {_quote(payloads["error"])};
        }}
        location = /_vendor {{ internal; {_answer("vendor", payloads["vendor"])} }}
        location /_bodies/ {{ internal; root {prefix}; }}
{action_locations}
        location / {{ return 404 {_quote(payloads["error"])}; }}
    }}
}}
"""


@dataclass
class NginxTarget:
    binary: str
    port: int
    prefix: Path
    process: subprocess.Popen[bytes]
    version: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM: fast shutdown of master and worker
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.prefix, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")


def check(url_port: int) -> None:
    """Every route answers exactly the expected bytes (raises AssertionError otherwise)."""
    payloads = bodies.build()
    cases = [
        ("GET", "/", {}, "login"),
        ("POST", "/", {"X-TC-Action": "DescribeMaterials"}, "vendor"),
    ]
    cases += [("POST", path, {}, name) for path, name in bodies.ROUTES.items()]
    for method, path, headers, name in cases:
        conn = http.client.HTTPConnection("127.0.0.1", url_port, timeout=5)
        conn.request(method, path + ("?auth=x" if path != "/" else ""), body=b"{}", headers=headers)
        response = conn.getresponse()
        got = response.read()
        ctype = response.getheader("Content-Type")
        conn.close()
        assert response.status == 200, (path, response.status)
        assert got == payloads[name], (path, len(got), len(payloads[name]))
        assert ctype == "application/json", ctype


def start(log: list[str], workers: int = 1) -> NginxTarget | None:
    binary = ensure_nginx(log)
    if binary is None:
        return None
    prefix = Path(tempfile.mkdtemp(prefix="cme-bench-nginx-"))
    port = free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(render_config(prefix, port, workers))
    version = subprocess.run([binary, "-v"], capture_output=True, text=True).stderr.strip()
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = NginxTarget(
        binary, port, prefix, process, version=version.replace("nginx version: ", "")
    )
    try:
        _wait_listening(port, process)
        check(port)
    except Exception as exc:
        error = (prefix / "error.log").read_text() if (prefix / "error.log").exists() else ""
        log.append(f"nginx target failed ({exc}); {error.strip()[-300:]}; using the aiohttp target")
        target.stop()
        return None
    return target
