"""A TLS redis-server for the hostname-check test: a throwaway CA (``openssl``) and a
server certificate naming only the hosts given."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.redis_server import find_redis_server, free_port


def _openssl(*args: str, cwd: Path) -> None:
    program = shutil.which("openssl")
    if program is None:
        pytest.fail("the TLS test needs the openssl program (apt-get install openssl)")
    subprocess.run([program, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(workdir: Path, names: str) -> Path:
    """CA and server files in ``workdir``; ``names`` is an X.509 subjectAltName value
    (``"DNS:cache.example"``). Returns the CA certificate's path."""
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
             "-keyout", "ca.key", "-out", "ca.pem", cwd=workdir)  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=redis", "-keyout", "server.key",
             "-out", "server.csr", cwd=workdir)  # fmt: skip
    (workdir / "ext.cnf").write_text(f"subjectAltName={names}\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "ext.cnf", "-out", "server.pem",
             cwd=workdir)  # fmt: skip
    return workdir / "ca.pem"


def _tls_ping(port: int, ca: Path) -> bool:
    context = ssl.create_default_context(cafile=str(ca))
    context.check_hostname = False
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=0.5) as raw,
            context.wrap_socket(raw) as sock,
        ):
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def tls_redis(workdir: Path, names: str) -> Iterator[tuple[int, Path]]:
    """A redis-server speaking only TLS on a free loopback port: (port, CA file)."""
    ca = make_certificates(workdir, names)
    port = free_port()
    process = subprocess.Popen(
        [find_redis_server(), "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(workdir / "server.pem"), "--tls-key-file",
         str(workdir / "server.key"), "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no",
         "--dir", str(workdir), "--save", "", "--appendonly", "no",
         "--logfile", str(workdir / "redis.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not _tls_ping(port, ca):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (workdir / "redis.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"the TLS redis-server did not start:\n{log}")
            time.sleep(0.05)
        yield port, ca
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
