"""End-to-end fixtures: start the real gofastapi-server binary and talk to it over HTTP.

``Server`` starts the binary on a free port (``--port 0``; the address is read
from the "serving" log line), captures stderr line by line in a reader thread,
and is always killed at teardown. Servers that tests can share are session- or
module-scoped to keep the suite fast.

The binary is ``$GOFASTAPI_BIN`` or ``bin/gofastapi-server`` in the repository
(``make build``). Only 127.0.0.1 is ever used.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
APPS = E2E_DIR / "apps"
BIN = Path(os.environ.get("GOFASTAPI_BIN", str(REPO / "bin" / "gofastapi-server")))
HOST = "127.0.0.1"
START_TIMEOUT = 30.0  # seconds to wait for the "serving" line
HTTP_TIMEOUT = 10.0  # default timeout of every HTTP call in the suite


class ServerStartError(RuntimeError):
    """The server exited or stayed silent before logging "serving"."""


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The parent's environment without GOFASTAPI_* (so the host cannot leak settings in), plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOFASTAPI_")}
    if extra:
        env.update(extra)
    return env


def parse_json_line(line: str) -> dict[str, Any] | None:
    """The JSON object on one log line, or None if the line is not one."""
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


class Server:
    """One running gofastapi-server process.

    ``app`` (``module:attr``) and ``app_dir`` become ``--app``/``--app-dir``
    when given; ``args`` are more flags; ``env`` is added to a clean
    environment. ``host``/``port`` become ``--host``/``--port`` unless None
    (to test the GOFASTAPI_* equivalents).
    """

    def __init__(
        self,
        app: str | None = None,
        *,
        app_dir: Path | str | None = APPS,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        host: str | None = HOST,
        port: int | None = 0,
        cwd: Path | str = REPO,
    ) -> None:
        cmd = [str(BIN)]
        if app is not None:
            cmd += ["--app", app]
            if app_dir is not None:
                cmd += ["--app-dir", str(app_dir)]
        if host is not None:
            cmd += ["--host", host]
        if port is not None:
            cmd += ["--port", str(port)]
        cmd += list(args)
        self.cmd = cmd
        self.env = clean_env(env)
        self.cwd = str(cwd)
        self.proc: subprocess.Popen[bytes] | None = None
        self.base_url = ""
        self.host = ""
        self.port = 0
        self.serving: dict[str, Any] = {}
        self._lines: list[str] = []
        self._stdout: list[str] = []
        self._lock = threading.Lock()
        self._readers: list[threading.Thread] = []

    # -- life cycle -------------------------------------------------------------------------

    def start(self, timeout: float = START_TIMEOUT) -> Server:
        """Start and wait for the "serving" log line (use start_quiet when that line is not logged)."""
        self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.logs():
                rec = parse_json_line(line)
                if rec is not None and rec.get("msg") == "serving" and "url" in rec:
                    self._set_url(rec)
                    return self
            self._check_alive()
            time.sleep(0.02)
        self.kill()
        raise ServerStartError(f"no 'serving' line within {timeout}s\ncmd: {self.cmd}\nstderr:\n" + "\n".join(self.logs()))

    def start_quiet(self, port: int, timeout: float = START_TIMEOUT) -> Server:
        """Start on a known port and wait until it accepts connections (for --log-level warn)."""
        self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
            except OSError:
                self._check_alive()
                time.sleep(0.05)
                continue
            self._set_url({"url": f"http://{HOST}:{port}"})
            return self
        self.kill()
        raise ServerStartError(f"port {port} not open within {timeout}s\ncmd: {self.cmd}\nstderr:\n" + "\n".join(self.logs()))

    def _check_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            self._join_readers()
            raise ServerStartError(
                f"server exited with {self.proc.returncode} before serving\n"
                f"cmd: {self.cmd}\nstderr:\n" + "\n".join(self.logs())
            )

    def _spawn(self) -> None:
        if not BIN.exists():
            raise ServerStartError(f"{BIN} does not exist: run `make build` or set GOFASTAPI_BIN")
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=self.env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for stream, sink in ((self.proc.stderr, self._lines), (self.proc.stdout, self._stdout)):
            t = threading.Thread(target=self._read, args=(stream, sink), daemon=True)
            t.start()
            self._readers.append(t)

    def _set_url(self, rec: dict[str, Any]) -> None:
        self.serving = rec if "msg" in rec else {}
        self.base_url = str(rec["url"]).rstrip("/")
        hostport = self.base_url.split("://", 1)[1]
        host, _, port = hostport.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)

    def _read(self, stream: Any, sink: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            with self._lock:
                sink.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
        stream.close()

    def _join_readers(self, timeout: float = 5.0) -> None:
        for t in self._readers:
            t.join(timeout)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        """Send sig, wait for the exit (kill after timeout) and return the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._join_readers()
        return self.proc.returncode

    def wait(self, timeout: float = 20.0) -> int | None:
        """Wait for the process to exit without signalling it; its exit code, or None if still running."""
        assert self.proc is not None
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._join_readers()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
        self._join_readers(2.0)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()

    # -- HTTP and logs ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def logs(self) -> list[str]:
        """Every stderr line so far."""
        with self._lock:
            return list(self._lines)

    def stdout(self) -> list[str]:
        with self._lock:
            return list(self._stdout)

    def json_logs(self) -> list[dict[str, Any]]:
        """The stderr lines that are JSON objects, parsed."""
        return [rec for rec in map(parse_json_line, self.logs()) if rec is not None]

    def wait_for_log(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> dict[str, Any] | None:
        """The first JSON log record matching pred, waiting up to timeout; None if none came."""
        deadline = time.monotonic() + timeout
        while True:
            for rec in self.json_logs():
                if pred(rec):
                    return rec
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def wait_for_text(self, *needles: str, timeout: float = 3.0) -> bool:
        """Whether the whole stderr text comes to contain every needle within timeout."""
        deadline = time.monotonic() + timeout
        while True:
            text = "\n".join(self.logs())
            if all(n in text for n in needles):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)


def start_slow_request(srv: Server, secs: float, wait_running: bool = True) -> tuple[threading.Thread, dict[str, Any]]:
    """GET /slow?secs= in a thread; with wait_running, return once the handler has started.

    The result lands in the dict as "response" (or "error" for a requests exception).
    """
    out: dict[str, Any] = {}
    tag = f"slow-{time.monotonic_ns()}-{threading.get_ident()}"

    def run() -> None:
        try:
            out["response"] = requests.get(srv.url("/slow"), params={"secs": secs, "tag": tag}, timeout=30)
        except requests.RequestException as exc:
            out["error"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    if wait_running:
        started = srv.wait_for_log(lambda rec: rec.get("msg") == f"slow-start {tag}", timeout=10)
        assert started is not None, f"the slow handler never started: {out}"
    return t, out


@dataclass
class CLIResult:
    returncode: int
    stdout: str
    stderr: str
    elapsed: float

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr


def run_cli(args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 30.0,
            cwd: Path | str = REPO) -> CLIResult:
    """Run the binary to completion (for --help, --version and start-up failures)."""
    assert BIN.exists(), f"{BIN} does not exist: run `make build` or set GOFASTAPI_BIN"
    start = time.monotonic()
    try:
        p = subprocess.run([str(BIN), *args], cwd=str(cwd), env=clean_env(env), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace")
        err = (exc.stderr or b"").decode("utf-8", "replace")
        pytest.fail(f"{args} still running after {timeout}s (a start-up failure must exit fast)\n{out}\n{err}")
    return CLIResult(p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace"),
                     time.monotonic() - start)


def raw_http(host: str, port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[int, dict[str, list[str]], bytes]:
    """(status, lower-case header name → values, body) of one raw HTTP/1.1 response."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no end of headers in {raw[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return status, headers, body


def free_port() -> int:
    """A port that was free a moment ago (only for tests that cannot use --port 0)."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(app: str | None = None, **kwargs: Any) -> Iterator[Server]:
    """A started Server, killed on exit."""
    srv = Server(app, **kwargs)
    try:
        yield srv.start()
    finally:
        srv.kill()


#: Every runtime the core behaviour suite runs against (the runtimes issue).
RUNTIMES = ["subinterpreters", "process", "main"]


@pytest.fixture(scope="session", params=RUNTIMES, ids=RUNTIMES)
def main_server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The shared server for the API behaviour tests: apps/main_app.py with two
    workers, once per runtime, so every such test runs in every runtime."""
    with running("main_app:app", args=["--workers", "2", "--runtime", request.param]) as srv:
        yield srv


@pytest.fixture(scope="session")
def sub_server() -> Iterator[Server]:
    """apps/main_app.py on two sub-interpreters (the default runtime), for the
    edge, concurrency and lifecycle tests that do not depend on the runtime."""
    with running("main_app:app", args=["--workers", "2"]) as srv:
        yield srv


@pytest.fixture
def start_server() -> Iterator[Callable[..., Server]]:
    """A factory for servers owned by one test; every one is killed at teardown."""
    started: list[Server] = []

    def start(app: str | None = None, **kwargs: Any) -> Server:
        srv = Server(app, **kwargs)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.kill()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A hung server must fail one test, not stall the suite.
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(60))


ANY = object()  # in expected validation errors: do not compare this field


def assert_validation_errors(r: Any, *expected: tuple[str, list[Any], Any]) -> list[dict[str, Any]]:
    """r is a 422 in FastAPI's shape holding exactly the expected (type, loc, input) errors, in any order."""
    assert r.status_code == 422, f"{r.status_code} {r.text}"
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers
    body = r.json()
    assert isinstance(body, dict) and isinstance(body.get("detail"), list), body
    errors = body["detail"]
    for err in errors:
        assert {"type", "loc", "msg", "input"} <= set(err), err
        assert isinstance(err["type"], str) and isinstance(err["loc"], list), err
        assert isinstance(err["msg"], str) and err["msg"], err
    got = sorted(((e["type"], e["loc"]) for e in errors), key=repr)
    want = sorted(((t, loc) for t, loc, _ in expected), key=repr)
    assert got == want, errors
    for type_, loc, input_ in expected:
        if input_ is not ANY:
            [err] = [e for e in errors if e["type"] == type_ and e["loc"] == loc]
            assert err["input"] == input_, err
    return errors
