"""Graceful shutdown, recovery after handler exceptions, and configuration through GOFASTAPI_* variables."""

import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from .conftest import APPS, HTTP_TIMEOUT, Server, free_port, parse_json_line, start_slow_request


def test_exception_in_handler_leaves_server_healthy(sub_server):
    for i in range(6):
        path = "/boom" if i % 2 else "/boom-async"
        assert requests.get(sub_server.url(path), timeout=HTTP_TIMEOUT).status_code == 500
        r = requests.get(sub_server.url("/health"), timeout=HTTP_TIMEOUT)
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
    # Two concurrent slow failures land on both interpreters; afterwards both still serve.
    with ThreadPoolExecutor(2) as pool:
        booms = list(pool.map(lambda _: requests.get(sub_server.url("/boom?secs=0.3"), timeout=HTTP_TIMEOUT), range(2)))
        assert [b.status_code for b in booms] == [500, 500]
        whos = list(pool.map(lambda _: requests.get(sub_server.url("/sleepwho?secs=0.3"), timeout=HTTP_TIMEOUT), range(2)))
    assert [w.status_code for w in whos] == [200, 200]
    assert len({w.json()["interp"] for w in whos}) == 2, "one interpreter stopped serving"
    assert sub_server.proc.poll() is None


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_during_slow_request_delivers_it_then_exits_0(start_server, sig):
    srv = start_server("main_app:app", args=["--workers", "1"])
    t, out = start_slow_request(srv, 1.0)
    sent = time.monotonic()
    srv.proc.send_signal(sig)
    time.sleep(0.2)
    with pytest.raises(requests.ConnectionError):  # no new connections once shutdown began
        requests.get(srv.url("/health"), timeout=2)
    t.join(20)
    assert "error" not in out, f"in-flight request failed: {out.get('error')!r}"
    r = out["response"]
    assert r.status_code == 200, r.text
    assert r.json() == {"slept": 1.0}
    code = srv.wait(15)
    assert code == 0, "\n".join(srv.logs())
    assert time.monotonic() - sent < 10
    assert srv.wait_for_log(lambda rec: "shutting down" in str(rec.get("msg", "")), timeout=0)


def test_sigterm_lets_queued_requests_finish(start_server):
    srv = start_server("main_app:app", args=["--workers", "1"])
    t_run, out_run = start_slow_request(srv, 0.8)
    t_queued, out_queued = start_slow_request(srv, 0.2, wait_running=False)  # waits for the only interpreter
    time.sleep(0.2)
    srv.proc.send_signal(signal.SIGTERM)
    t_run.join(20)
    t_queued.join(20)
    for out, secs in ((out_run, 0.8), (out_queued, 0.2)):
        assert "error" not in out, f"request failed: {out.get('error')!r}"
        assert out["response"].status_code == 200, out["response"].text
        assert out["response"].json() == {"slept": secs}
    assert srv.wait(15) == 0


def test_shutdown_timeout_bounds_the_wait(start_server):
    # With --shutdown-timeout 1s a handler that needs 6 s more must not keep the process alive.
    srv = start_server("main_app:app", args=["--workers", "1", "--shutdown-timeout", "1s"])
    t, out = start_slow_request(srv, 6.0)
    sent = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    code = srv.wait(8)
    exited_after = time.monotonic() - sent
    t.join(20)
    assert code is not None, "process still running 8 s after SIGTERM"
    assert exited_after < 3.5, f"exited {exited_after:.1f}s after SIGTERM with --shutdown-timeout 1s"


def test_every_line_up_to_exit_is_json(start_server):
    # Logs are JSON lines from start to exit: nothing printed raw while interpreters shut down.
    srv = start_server("main_app:app", args=["--workers", "2"])
    for path in ("/health", "/async/sleep", "/log?msg=before-exit", "/boom"):
        requests.get(srv.url(path), timeout=HTTP_TIMEOUT)
    assert srv.stop(signal.SIGTERM) == 0
    not_json = [line for line in srv.logs() if line.strip() and parse_json_line(line) is None]
    assert not_json == []
    assert srv.json_logs()[-1]["msg"] == "stopped"


def test_idle_server_stops_quickly_with_exit_0(start_server):
    srv = start_server("quickstart:app", args=["--workers", "2"])
    assert requests.get(srv.url("/items/1"), timeout=HTTP_TIMEOUT).status_code == 200
    start = time.monotonic()
    assert srv.stop(signal.SIGTERM) == 0
    assert time.monotonic() - start < 5


def test_configuration_from_environment(start_server):
    env = {
        "GOFASTAPI_APP": "quickstart:app",
        "GOFASTAPI_APP_DIR": str(APPS),
        "GOFASTAPI_HOST": "127.0.0.1",
        "GOFASTAPI_PORT": "0",
        "GOFASTAPI_WORKERS": "1",
        "GOFASTAPI_ACCESS_LOG": "false",
    }
    srv = start_server(None, env=env, host=None, port=None)
    assert srv.serving["workers"] == 1
    assert srv.serving["app"] == "quickstart:app"
    r = requests.get(srv.url("/items/2?q=env"), timeout=HTTP_TIMEOUT)
    assert r.json() == {"item_id": 2, "q": "env"}
    assert srv.wait_for_log(lambda rec: rec.get("msg") == "request", timeout=0.5) is None


def test_command_line_wins_over_environment(start_server):
    srv = start_server("quickstart:app", env={"GOFASTAPI_WORKERS": "1", "GOFASTAPI_APP": "nope:nope"}, args=["--workers", "2"])
    assert srv.serving["workers"] == 2
    assert srv.serving["app"] == "quickstart:app"
    assert requests.get(srv.url("/items/3"), timeout=HTTP_TIMEOUT).json() == {"item_id": 3, "q": None}


@pytest.mark.parametrize("how", ["flag", "env"])
def test_log_level_warn_hides_info_lines(how):
    port = free_port()
    args, env = (["--log-level", "warn"], None) if how == "flag" else ([], {"GOFASTAPI_LOG_LEVEL": "warn"})
    srv = Server("main_app:app", args=["--workers", "1", *args], env=env, port=port)
    try:
        srv.start_quiet(port)
        assert requests.get(srv.url("/health"), timeout=HTTP_TIMEOUT).status_code == 200
        msg = f"warn-visible-{time.time_ns()}"
        assert requests.get(srv.url("/log"), params={"msg": msg}, timeout=HTTP_TIMEOUT).status_code == 200
        assert srv.wait_for_log(lambda rec: rec.get("msg") == msg, timeout=3) is not None, "a WARN line was dropped"
        levels = {rec.get("level") for rec in srv.json_logs()}
        assert "INFO" not in levels, [rec for rec in srv.json_logs() if rec.get("level") == "INFO"][:3]
        assert srv.stop() == 0
    finally:
        srv.kill()
