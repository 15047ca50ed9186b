"""End-to-end: limits and isolation of the interpreters behind the real binary.

README "Limits and isolation", SECURITY.md and DESIGN.md ("Limits and
isolation", "Measured facts") promise that one misbehaving handler costs only
its own request:

- timeouts: an endless pure-Python loop is interrupted at the deadline (504)
  and the worker is reused; a handler that swallows the TimeoutError is
  unwound within the grace period; a handler stuck in C is abandoned (a fresh
  interpreter) or killed (a fresh process) after the grace period, and other
  workers keep serving meanwhile;
- memory: a memory bomb under --max-memory-per-worker (an OS limit on a
  worker process, an accounting allocator on a sub-interpreter) fails its
  request, not the server; the main runtime refuses the flag;
- recycling: --max-requests/--max-requests-jitter replace workers without
  failing a request, visibly in the admin stats;
- the import guard and the C audit hook: subprocess/ctypes refused unless
  allowed, process spawning and signals to the server refused through
  bypasses, os._exit contained;
- crash containment: SystemExit, KeyboardInterrupt and RecursionError are a
  500 for that request only;
- the stats endpoint lives only on --admin-addr.

Interpreter tests run under both the subinterpreters and process runtimes.
Apps: apps/limits_app.py, apps/limits_allowed.py. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import HTTP_TIMEOUT, Server, run_cli

RUNTIMES = ["subinterpreters", "process"]
APP = "limits_app:app"
TIMEOUT = 1.0  # --timeout / the routes' timeout=
GRACE = 1.0  # --timeout-grace
LIMIT_FLAGS = ["--timeout", "1s", "--timeout-grace", "1s"]


# --------------------------------------------------------------------------- helpers


class Limits:
    """A started server plus its admin endpoint."""

    def __init__(self, srv: Server, runtime: str) -> None:
        self.srv = srv
        self.runtime = runtime
        rec = srv.wait_for_log(lambda r: r.get("msg") == "admin endpoint", timeout=5)
        assert rec is not None, "no 'admin endpoint' log line:\n" + "\n".join(
            srv.logs()
        )
        self.admin_url = str(rec["url"])
        assert self.admin_url.startswith("http://127.0.0.1:"), self.admin_url
        assert srv.serving.get("runtime") == runtime, srv.serving

    def url(self, path: str) -> str:
        return self.srv.url(path)

    def get(
        self, route: str, /, timeout: float = HTTP_TIMEOUT, **params: Any
    ) -> requests.Response:
        return requests.get(self.url(route), params=params or None, timeout=timeout)

    def timed_get(
        self, route: str, /, timeout: float = HTTP_TIMEOUT, **params: Any
    ) -> tuple[requests.Response, float]:
        t0 = time.monotonic()
        r = self.get(route, timeout=timeout, **params)
        return r, time.monotonic() - t0

    def stats(self) -> dict[str, Any]:
        r = requests.get(self.admin_url, timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text
        return r.json()

    def total(self, counter: str) -> int:
        return sum(int(w.get(counter, 0)) for w in self.stats()["workers"])

    def whoami(self, max_secs: float = 1.0) -> dict[str, Any]:
        """GET /whoami, which must succeed within max_secs."""
        r, took = self.timed_get("/whoami")
        assert (
            r.status_code == 200
        ), f"/whoami after the incident: {r.status_code} {r.text}"
        assert took < max_secs, f"/whoami took {took:.3f}s (limit {max_secs}s)"
        return r.json()

    def identity(self, who: dict[str, Any]) -> tuple[Any, ...]:
        """What identifies the interpreter that ran a handler in this runtime."""
        if self.runtime == "subinterpreters":
            return (who["pid"], who["interp"], who["modules"])
        return (who["pid"], who["modules"])

    def alive(self) -> None:
        assert self.srv.proc is not None
        assert self.srv.proc.poll() is None, (
            f"the server exited with {self.srv.proc.returncode}:\n"
            + "\n".join(self.srv.logs()[-40:])
        )

    def error_record(
        self, r: requests.Response, timeout: float = 3.0
    ) -> dict[str, Any] | None:
        """The gofastapi.error log record of response r's request."""
        rid = r.headers.get("X-Request-ID")
        assert rid, r.headers
        return self.srv.wait_for_log(
            lambda rec: rec.get("logger") == "gofastapi.error"
            and rec.get("request_id") == rid,
            timeout=timeout,
        )

    def explain(self, r: requests.Response) -> str:
        """The status, body and logged exception of r, for assertion messages."""
        rec = self.error_record(r, timeout=0.5)
        logged = (
            f"{rec.get('exc_type')}: {rec.get('msg')}" if rec else "(no error logged)"
        )
        return f"{r.status_code} {r.text[:300]} | logged: {logged}"

    def start_tagged(self, path: str) -> tuple[threading.Thread, dict[str, Any]]:
        """GET path?tag= in a thread; returns once the handler logged that it started.

        The result lands in the dict: "response" and "elapsed", or "error".
        """
        out: dict[str, Any] = {}
        tag = f"t{time.monotonic_ns()}"

        def run() -> None:
            t0 = time.monotonic()
            try:
                out["response"] = requests.get(
                    self.url(path), params={"tag": tag}, timeout=30
                )
            except requests.RequestException as exc:
                out["error"] = exc
            out["elapsed"] = time.monotonic() - t0

        t = threading.Thread(target=run, daemon=True)
        t.start()
        rec = self.srv.wait_for_log(
            lambda rec: rec.get("msg") == f"limits-start {tag}", timeout=10
        )
        assert rec is not None, f"the handler {path} never started: {out}"
        return t, out


@pytest.fixture
def start_limits() -> Iterator[Callable[..., Limits]]:
    """Start limits servers (always with --admin-addr 127.0.0.1:0); all killed at teardown."""
    started: list[Server] = []

    def start(runtime: str, *args: str, app: str = APP, workers: int = 1) -> Limits:
        srv = Server(
            app,
            args=[
                "--runtime",
                runtime,
                "--workers",
                str(workers),
                "--admin-addr",
                "127.0.0.1:0",
                *args,
            ],
        )
        started.append(srv)
        srv.start()
        return Limits(srv, runtime)

    yield start
    for srv in started:
        srv.kill()


def worker0(stats: dict[str, Any]) -> dict[str, Any]:
    [w] = stats["workers"]
    return w


# --------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("source", ["flag", "route"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_endless_loop_gets_504_and_worker_is_reused(
    start_limits: Callable[..., Limits], runtime: str, source: str
) -> None:
    # The deadline comes from --timeout 1s, or from the route's timeout=1 with the server's default (30 s).
    if source == "flag":
        lim, path = start_limits(runtime, *LIMIT_FLAGS), "/spin"
    else:
        lim, path = start_limits(runtime, "--timeout-grace", "1s"), "/spin-route"
    before = lim.identity(lim.whoami())

    r, took = lim.timed_get(path)
    assert r.status_code == 504, lim.explain(r)
    assert (
        TIMEOUT - 0.05 <= took < TIMEOUT + 0.5
    ), f"{path}: 504 after {took:.3f}s, expected {TIMEOUT}..{TIMEOUT + 0.5}s"

    after = lim.identity(lim.whoami(max_secs=0.5))
    assert (
        after == before
    ), f"the interrupted worker was not reused: {before} -> {after}"
    w = worker0(lim.stats())
    assert w["timeouts"] == 1, w
    assert w["abandoned"] == 0 and w["restarts"] == 0, w
    lim.alive()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_handler_swallowing_timeout_is_unwound(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    lim = start_limits(runtime, *LIMIT_FLAGS)
    before = lim.identity(lim.whoami())

    r, took = lim.timed_get("/swallow")
    assert r.status_code == 504, lim.explain(r)
    assert TIMEOUT <= took < TIMEOUT + GRACE + 0.25, f"/swallow: 504 after {took:.3f}s"

    after = lim.identity(lim.whoami(max_secs=0.5))
    assert (
        after == before
    ), f"the worker was replaced instead of unwound: {before} -> {after}"
    w = worker0(lim.stats())
    assert w["timeouts"] == 1, w
    assert (
        w["abandoned"] == 0 and w["restarts"] == 0
    ), f"unwinding failed, the worker was given up: {w}"


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_handler_stuck_in_c_is_abandoned_and_replaced(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    lim = start_limits(runtime, *LIMIT_FLAGS)
    before = lim.whoami()

    r, took = lim.timed_get("/stuck")  # time.sleep(600)
    assert r.status_code == 504, lim.explain(r)
    assert took < TIMEOUT + GRACE + 1.0, f"/stuck: 504 after {took:.3f}s"

    # The only slot gets a fresh interpreter / process within a couple of seconds.
    deadline = time.monotonic() + 2.0
    while True:
        try:
            r = lim.get("/whoami", timeout=2.0)
            if r.status_code == 200:
                break
            last = f"{r.status_code} {r.text}"
        except requests.RequestException as exc:
            last = repr(exc)
        assert (
            time.monotonic() < deadline
        ), f"no successful request within 2s of the 504: {last}"
        time.sleep(0.05)
    after = r.json()
    if runtime == "subinterpreters":
        assert after["pid"] == before["pid"]
        assert (after["interp"], after["modules"]) != (
            before["interp"],
            before["modules"],
        ), f"still the stuck interpreter: {before} -> {after}"
    else:
        assert (
            after["pid"] != before["pid"]
        ), f"the stuck worker process was not replaced: {before} -> {after}"

    w = worker0(lim.stats())
    assert w["timeouts"] == 1, w
    if runtime == "subinterpreters":
        assert w["abandoned"] == 1, w
    else:
        assert w["restarts"] >= 1, w
        assert w["pid"] == after["pid"], w
    lim.alive()
    for _ in range(5):  # and it keeps serving
        lim.whoami(max_secs=0.5)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_other_workers_serve_while_one_is_stuck(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    # Route-level timeout=1 on /stuck-route; the server's own default stays 30 s.
    lim = start_limits(runtime, "--timeout-grace", "1s", workers=2)
    t, out = lim.start_tagged("/stuck-route")

    served: list[float] = []
    while t.is_alive() and len(served) < 200:
        r, took = lim.timed_get("/whoami", timeout=5)
        assert (
            r.status_code == 200
        ), f"a request failed while one handler was stuck: {r.status_code} {r.text}"
        assert took < 0.5, f"a request waited {took:.3f}s behind the stuck handler"
        served.append(took)
        time.sleep(0.02)
    t.join(10)
    assert not t.is_alive(), "the stuck request was never answered"
    assert "error" not in out, out
    assert out["response"].status_code == 504, lim.explain(out["response"])
    assert out["elapsed"] < TIMEOUT + GRACE + 1.0, out
    assert (
        len(served) >= 20
    ), f"only {len(served)} requests were served during the ~2s the handler was stuck"
    # After the abandonment both slots serve again.
    for _ in range(10):
        lim.whoami(max_secs=1.0)
    stats = lim.stats()
    assert sum(w["timeouts"] for w in stats["workers"]) == 1, stats
    key = "abandoned" if runtime == "subinterpreters" else "restarts"
    assert sum(w[key] for w in stats["workers"]) == 1, stats


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_memory_bomb_costs_only_its_request(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    # process: an OS limit (RLIMIT_DATA) on the worker; subinterpreters: the accounting allocator.
    lim = start_limits(
        runtime, "--max-memory-per-worker", "300MB", *LIMIT_FLAGS, workers=2
    )
    lim.whoami()

    r, took = lim.timed_get("/bomb", timeout=20)
    assert (
        500 <= r.status_code < 600
    ), f"a 10 MB-a-time bomb under a 300MB limit: {lim.explain(r)}"
    assert took < 10, f"/bomb answered after {took:.1f}s"

    lim.alive()
    for _ in range(10):  # both workers serve again
        lim.whoami(max_secs=3.0)
    stats = lim.stats()
    assert (
        stats["server_rss_bytes"] < 300 * 1024 * 1024
    ), f"the server process grew: {stats}"
    if runtime == "subinterpreters":
        err = lim.error_record(r)
        assert err is not None and err.get("exc_type") == "MemoryError", err
        held = [w.get("memory_bytes", 0) for w in stats["workers"]]
        assert all(
            h < 100 * 1024 * 1024 for h in held
        ), f"the bomb's memory is still held: {stats}"


def test_memory_limit_refused_in_main_runtime() -> None:
    # Threads sharing the main interpreter cannot be capped one by one: start-up must refuse.
    res = run_cli(
        [
            "--app",
            APP,
            "--app-dir",
            str(Path(__file__).parent / "apps"),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--runtime",
            "main",
            "--max-memory-per-worker",
            "300MB",
        ],
        timeout=20,
    )
    assert res.returncode != 0, res.output
    assert res.elapsed < 10, res.elapsed
    assert '"msg":"serving"' not in res.output, res.output
    assert (
        "--runtime process" in res.output
        or "process runtime" in res.output
        or "or process" in res.output
    ), res.output


# --------------------------------------------------------------------------- recycling


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_recycling_fails_no_request(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    lim = start_limits(
        runtime, "--max-requests", "50", "--max-requests-jitter", "10", workers=2
    )

    def one(i: int) -> tuple[int, str, Any]:
        try:
            r = requests.get(lim.url("/whoami"), timeout=HTTP_TIMEOUT)
        except requests.RequestException as exc:
            return i, repr(exc), None
        if r.status_code != 200:
            return i, f"{r.status_code} {r.text[:200]}", None
        return i, "", lim.identity(r.json())

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(one, range(500)))
    failures = [(i, err) for i, err, _ in results if err]
    assert (
        not failures
    ), f"{len(failures)} of 500 requests failed while recycling: {failures[:10]}"
    seen = {ident for _, _, ident in results}
    assert (
        len(seen) >= 5
    ), f"only {len(seen)} distinct workers answered 500 requests: {seen}"

    deadline = time.monotonic() + 5
    while True:
        stats = lim.stats()
        recycles = sum(w["recycles"] for w in stats["workers"])
        if recycles >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert (
        recycles >= 5
    ), f"expected ≥5 recycles after 500 requests with --max-requests 50: {stats}"
    assert sum(w["requests"] for w in stats["workers"]) == 500, stats
    assert all(w["restarts"] == 0 for w in stats["workers"]), stats
    lim.alive()


# --------------------------------------------------------------------------- import guard and audit hook


@pytest.mark.parametrize("module", ["subprocess", "ctypes"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dangerous_imports_refused_by_default(
    start_limits: Callable[..., Limits], runtime: str, module: str
) -> None:
    lim = start_limits(runtime)
    assert lim.total("refused") == 0
    r = lim.get(f"/import/{module}")
    assert r.status_code == 500, lim.explain(r)
    rid = r.headers["X-Request-ID"]
    event = lim.srv.wait_for_log(
        lambda rec: rec.get("event") == "import_refused"
        and rec.get("request_id") == rid,
        timeout=3,
    )
    assert event is not None, "no import_refused event:\n" + "\n".join(
        lim.srv.logs()[-20:]
    )
    assert event.get("import") == module, event
    assert event.get("logger") == "gofastapi.security", event
    err = lim.error_record(r)
    assert err is not None and err.get("exc_type") == "ImportError", err
    assert "Traceback" not in r.text and module not in r.text, r.text
    stats = lim.stats()
    assert (
        sum(w["refused"] for w in stats["workers"]) > 0
    ), f"the refusal is not counted: {stats}"
    lim.whoami()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_refused_count_survives_worker_replacement(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    # A slot's counters are kept across the backends it has had (WorkerStats), refusals included.
    lim = start_limits(runtime, "--max-requests", "3")
    for module in ("subprocess", "ctypes"):
        r = lim.get(f"/import/{module}")
        assert r.status_code == 500, lim.explain(r)
    for _ in range(6):
        lim.whoami(max_secs=3.0)
    deadline = time.monotonic() + 5
    while (w := worker0(lim.stats()))["recycles"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w["recycles"] >= 1, w
    assert w["refused"] >= 2, f"2 refused imports, then a recycle: {w}"


@pytest.mark.parametrize("source", ["flag", "app"])
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_dangerous_imports_allowed_when_listed(
    start_limits: Callable[..., Limits], runtime: str, source: str
) -> None:
    if source == "flag":
        lim = start_limits(runtime, "--allowed-imports", "subprocess,ctypes")
    else:
        lim = start_limits(runtime, app="limits_allowed:app")

    problems = []
    r = lim.get("/import/subprocess")
    if r.status_code != 200 or r.json() != {"rc": 0}:
        problems.append(
            f"/import/subprocess (subprocess.run(['true'])): expected 200 {{'rc': 0}}, got {lim.explain(r)}"
        )
    r = lim.get("/import/ctypes")
    if r.status_code != 200 or r.json()["getpid"] != r.json()["pid"]:
        problems.append(
            f"/import/ctypes (CDLL(None).getpid()): expected 200 with getpid == pid, got {lim.explain(r)}"
        )
    if source == "app":
        # allowed_imports is an allow-list: what it does not name stays refused.
        r = lim.get("/import/json")
        if r.status_code != 500:
            problems.append(
                f"/import/json with allowed_imports=['subprocess','ctypes']: expected 500, got {lim.explain(r)}"
            )
    assert not problems, "\n".join(problems)
    if source == "flag":
        assert not any(
            rec.get("event") == "import_refused" for rec in lim.srv.json_logs()
        ), lim.srv.logs()


SYSTEM_BYPASSES = ["os", "dunder", "modules", "posix"]


@pytest.mark.parametrize("how", SYSTEM_BYPASSES)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_os_system_refused_through_bypasses(
    start_limits: Callable[..., Limits], runtime: str, how: str, tmp_path: Path
) -> None:
    # how: os.system / __import__('os').system / sys.modules['os'].system / sys.modules['posix'].system
    lim = start_limits(runtime)
    marker = tmp_path / f"spawned-{how}"
    r = lim.get("/system", how=how, path=str(marker))
    assert r.status_code == 500, lim.explain(r)
    err = lim.error_record(r)
    assert err is not None and err.get("exc_type") == "PermissionError", err
    assert not marker.exists(), f"the command ran: {marker} was created"

    probe = lim.get("/system-probe", how=how, path=str(marker)).json()
    assert probe.get("raised") == "PermissionError", probe
    assert "os.system" in probe.get("message", ""), probe
    assert not marker.exists()
    lim.whoami()


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_subprocess_through_dunder_import_refused(
    start_limits: Callable[..., Limits], runtime: str, tmp_path: Path
) -> None:
    # __import__('subprocess') with no globals slips past the Python import guard; the audit hook must still refuse.
    lim = start_limits(runtime)
    marker = tmp_path / "spawned"
    probe = lim.get("/spawn-probe", path=str(marker))
    assert probe.status_code == 200, lim.explain(probe)
    assert probe.json().get("raised") == "PermissionError", probe.json()
    assert not marker.exists(), "subprocess ran a command"
    lim.whoami()


@pytest.mark.parametrize(
    ("runtime", "target"),
    [("subinterpreters", "self"), ("process", "self"), ("process", "parent")],
    ids=["subinterpreters-server", "process-worker", "process-server"],
)
def test_signalling_the_server_refused(
    start_limits: Callable[..., Limits], runtime: str, target: str
) -> None:
    # In sub-interpreters getpid() is the server; in a worker process getpid() is the worker and getppid() the server.
    lim = start_limits(runtime)
    before = lim.identity(lim.whoami())
    r = lim.get("/kill", target=target)
    assert r.status_code == 500, lim.explain(r)
    err = lim.error_record(r)
    assert err is not None and err.get("exc_type") == "PermissionError", err
    time.sleep(
        0.5
    )  # a delivered SIGTERM would be shutting the server (or worker) down by now
    lim.alive()
    assert not lim.srv.wait_for_log(
        lambda rec: rec.get("msg") in ("stopped", "shutting down"), timeout=0.1
    )
    after = lim.identity(lim.whoami())
    assert after == before, f"the worker changed: {before} -> {after}"
    stats = lim.stats()
    assert sum(w["restarts"] for w in stats["workers"]) == 0, stats


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_os_exit_does_not_stop_the_server(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    lim = start_limits(runtime)
    before = lim.whoami()
    r = lim.get("/os-exit")
    if runtime == "subinterpreters":
        assert r.status_code == 500, lim.explain(r)
        rid = r.headers["X-Request-ID"]
        ev = lim.srv.wait_for_log(
            lambda rec: rec.get("event") == "exit_refused"
            and rec.get("request_id") == rid
        )
        assert ev is not None, "no exit_refused event:\n" + "\n".join(
            lim.srv.logs()[-20:]
        )
        lim.alive()
        after = lim.whoami(max_secs=0.5)
        assert lim.identity(after) == lim.identity(before)
    else:
        assert r.status_code == 502, lim.explain(r)
        lim.alive()
        after = lim.whoami(max_secs=3.0)
        assert after["pid"] != before["pid"]
        w = worker0(lim.stats())
        assert w["restarts"] >= 1, w
    for _ in range(3):
        lim.whoami(max_secs=0.5)


@pytest.mark.parametrize(
    ("path", "exc_type"),
    [
        ("/sys-exit", "SystemExit"),
        ("/keyboard-interrupt", "KeyboardInterrupt"),
        ("/recurse", "RecursionError"),
    ],
    ids=["sys-exit", "keyboard-interrupt", "recursion"],
)
@pytest.mark.parametrize("runtime", RUNTIMES)
def test_fatal_looking_exceptions_cost_one_request(
    start_limits: Callable[..., Limits], runtime: str, path: str, exc_type: str
) -> None:
    lim = start_limits(runtime)
    before = lim.identity(lim.whoami())
    for _ in range(2):
        r = lim.get(path)
        assert r.status_code == 500, lim.explain(r)
        assert r.json() == {"detail": "Internal Server Error"}, r.text
        err = lim.error_record(r)
        assert err is not None and err.get("exc_type") == exc_type, err
        lim.alive()
        after = lim.identity(lim.whoami(max_secs=0.5))
        assert after == before, f"{path} replaced the worker: {before} -> {after}"
    w = worker0(lim.stats())
    assert w["restarts"] == 0 and w["abandoned"] == 0, w


# --------------------------------------------------------------------------- admin endpoint


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_stats_only_on_admin_address(
    start_limits: Callable[..., Limits], runtime: str
) -> None:
    lim = start_limits(runtime, workers=2)
    r = lim.get("/_gofastapi/stats")
    assert (
        r.status_code == 404
    ), f"stats served on the public port: {r.status_code} {r.text[:200]}"
    assert "workers" not in r.text
    stats = lim.stats()
    assert stats["runtime"] == runtime
    assert isinstance(stats["waiting"], int) and stats["server_rss_bytes"] > 0, stats
    assert [w["id"] for w in stats["workers"]] == [0, 1], stats
    keys = {
        "id",
        "requests",
        "timeouts",
        "abandoned",
        "restarts",
        "recycles",
        "refused",
    }
    for w in stats["workers"]:
        assert keys <= set(w), w
        if runtime == "process":
            assert w["pid"] > 0 and w["rss_bytes"] > 0, w
    # The admin listener serves only the stats.
    assert (
        requests.get(
            lim.admin_url.replace("/_gofastapi/stats", "/whoami"), timeout=HTTP_TIMEOUT
        ).status_code
        == 404
    )
