"""End-to-end: the runtimes (--runtime auto|subinterpreters|process|main) behind the real binary.

- A pydantic app cannot load in an own-GIL sub-interpreter; the default runtime
  (auto) must say which module forced the fallback and serve it from worker
  processes, with FastAPI's validation and response-model behaviour.
- Worker processes run requests in parallel, and a killed worker costs only
  its in-flight request (502) before a new process takes its place.
- One behaviour suite runs unchanged in every explicit runtime.
- Bad runtime choices fail start-up with a clear message.

Apps: apps/rt_pydantic.py (pydantic) and apps/rt_basic.py (pure Python).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import (
    APPS,
    HTTP_TIMEOUT,
    Server,
    assert_validation_errors,
    parse_json_line,
    run_cli,
    running,
)

RUNTIMES = ["subinterpreters", "process", "main"]


# --------------------------------------------------------------------------- helpers


def ppid_of(pid: int) -> int | None:
    """The parent pid of pid from /proc, or None if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def is_zombie_or_gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def children_of(pid: int) -> set[int]:
    """Live child pids of pid (every thread's children file, else a /proc scan)."""
    kids: set[int] = set()
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            try:
                kids.update(int(x) for x in (task / "children").read_text().split())
            except OSError:
                continue
    except OSError:
        return set()
    if not kids:  # kernels without CONFIG_PROC_CHILDREN
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and ppid_of(int(entry.name)) == pid:
                kids.add(int(entry.name))
    return {k for k in kids if not is_zombie_or_gone(k)}


def get(srv: Server, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.get(srv.url(path), **kwargs)


def post(srv: Server, path: str, body: Any, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.post(srv.url(path), json=body, **kwargs)


def log_text(srv: Server) -> str:
    return "\n".join(srv.logs())


# --------------------------------------------------------------------------- the pydantic app under the default runtime


@pytest.fixture(scope="module")
def pyd_server():
    """apps/rt_pydantic.py with no --runtime flag (the default, auto) and two workers."""
    with running("rt_pydantic:app", args=["--workers", "2"]) as srv:
        yield srv


def test_default_runtime_falls_back_to_processes_naming_pydantic_core(pyd_server):
    assert "--runtime" not in pyd_server.cmd
    assert pyd_server.serving.get("runtime") == "process", pyd_server.serving
    fallback = [
        rec
        for rec in pyd_server.json_logs()
        if "pydantic_core" in str(rec.get("module", ""))
        and rec.get("runtime") == "process"
    ]
    assert fallback, (
        "no start-up line names pydantic_core with runtime process:\n"
        + log_text(pyd_server)
    )
    rec = fallback[0]
    assert rec["level"] == "WARN", rec
    assert "pydantic_core" in rec["msg"] and "sub-interpreter" in rec["msg"], rec
    # The workers really are child processes of the server, not the server itself.
    r = get(pyd_server, "/pid")
    assert r.status_code == 200, r.text
    worker = r.json()["pid"]
    assert worker != pyd_server.pid
    assert r.json()["ppid"] == pyd_server.pid
    assert worker in children_of(pyd_server.pid)


def test_auto_fallback_logs_only_json_lines(pyd_server):
    # DESIGN.md / protocol.md §3: every stderr line is one JSON object. Ending the
    # sub-interpreters that failed to import the app must not print raw tracebacks.
    get(pyd_server, "/pid")
    lines = [line for line in pyd_server.logs() if line.strip()]
    not_json = [line for line in lines if parse_json_line(line) is None]
    assert not_json == [], "non-JSON stderr lines:\n" + "\n".join(not_json)


def test_seed_validator_accepts_alphanumeric_username(pyd_server):
    r = post(pyd_server, "/users", {"username": "bob", "email": "bob@example.com"})
    assert r.status_code == 200, r.text
    assert r.json() == {
        "username": "bob",
        "email": "bob@example.com",
        "type": "UserInput",
    }


@pytest.mark.parametrize(
    "username", ["b ob", "bob!", "<script>"], ids=["space", "punctuation", "markup"]
)
def test_seed_validator_rejects_non_alphanumeric_username(pyd_server, username):
    r = post(pyd_server, "/users", {"username": username, "email": "bob@example.com"})
    [err] = assert_validation_errors(r, ("value_error", ["body", "username"], username))
    assert err["msg"] == "Value error, Username must be alphanumeric", err


def test_seed_model_missing_and_wrong_types(pyd_server):
    r = post(pyd_server, "/users", {"username": 12})
    assert_validation_errors(
        r,
        ("string_type", ["body", "username"], 12),
        ("missing", ["body", "email"], {"username": 12}),
    )
    r = requests.post(
        pyd_server.url("/users"),
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["type"] == "json_invalid", r.text


VALID_ORDER = {
    "customer": {"username": "alice", "email": "alice@example.com"},
    "ship_to": {"street": "1 Rue X", "zip_code": "75001"},
    "lines": [
        {"sku": "ABC-1", "quantity": 2, "price": 1.25},
        {"sku": "XYZ-9", "quantity": 1, "price": 10},
    ],
}


def test_nested_models_and_lists_of_models(pyd_server):
    r = post(pyd_server, "/orders", VALID_ORDER)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "customer": "alice",
        "city": "Paris",
        "types": ["Address", "Line", "Line"],
        "total": 12.5,
        "note": None,
    }


def test_nested_field_constraints_report_full_locations(pyd_server):
    bad = json.loads(json.dumps(VALID_ORDER))
    bad["customer"]["username"] = "al ice"
    bad["ship_to"]["zip_code"] = "7500"
    bad["lines"][1]["quantity"] = 0
    bad["lines"][0]["sku"] = "AB"
    bad["note"] = "x" * 21
    r = post(pyd_server, "/orders", bad)
    assert_validation_errors(
        r,
        ("value_error", ["body", "customer", "username"], "al ice"),
        ("string_pattern_mismatch", ["body", "ship_to", "zip_code"], "7500"),
        ("greater_than_equal", ["body", "lines", 1, "quantity"], 0),
        ("string_too_short", ["body", "lines", 0, "sku"], "AB"),
        ("string_too_long", ["body", "note"], "x" * 21),
    )
    empty = {**VALID_ORDER, "lines": []}
    assert_validation_errors(
        post(pyd_server, "/orders", empty), ("too_short", ["body", "lines"], [])
    )


def test_response_model_drops_leaked_fields(pyd_server):
    r = get(pyd_server, "/users/7")
    assert r.status_code == 200, r.text
    assert r.json() == {"id": 7, "username": "bob", "email": "bob@example.com"}
    assert "password_hash" not in r.text and "LEAKED" not in r.text
    r = get(pyd_server, "/users-list")
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"id": i, "username": f"user{i}", "email": f"u{i}@example.com"}
        for i in range(3)
    ]
    assert "LEAKED" not in r.text
    assert_validation_errors(
        get(pyd_server, "/users/seven"), ("int_parsing", ["path", "user_id"], "seven")
    )


def test_cpu_bound_requests_run_in_parallel_worker_processes(pyd_server):
    # Calibrate n so that one request does about 0.5 s of pure-Python work.
    n = 1_000_000
    for _ in range(4):
        r = get(pyd_server, "/cpu", params={"n": n})
        assert r.status_code == 200, r.text
        took = r.json()["end"] - r.json()["start"]
        if took >= 0.4:
            break
        n = min(int(n * 0.5 / max(took, 1e-3)) + 1, 100_000_000)
    barrier = threading.Barrier(2)

    def one() -> dict[str, Any]:
        barrier.wait(5)
        resp = get(pyd_server, "/cpu", params={"n": n}, timeout=30)
        assert resp.status_code == 200, resp.text
        return resp.json()

    with ThreadPoolExecutor(2) as ex:
        a, b = [f.result(timeout=40) for f in [ex.submit(one), ex.submit(one)]]
    assert a["pid"] != b["pid"], (a, b)
    kids = children_of(pyd_server.pid)
    assert {a["pid"], b["pid"]} <= kids, (a, b, kids)
    assert pyd_server.pid not in (a["pid"], b["pid"])
    for res in (a, b):
        assert res["end"] - res["start"] >= 0.25, res  # really CPU-bound work
    overlap = min(a["end"], b["end"]) - max(a["start"], b["start"])
    shorter = min(a["end"] - a["start"], b["end"] - b["start"])
    assert overlap > 0.5 * shorter, f"requests did not overlap: {a} {b}"


# --------------------------------------------------------------------------- a killed worker process


def test_killed_worker_gives_502_then_a_new_process_serves():
    with running("rt_pydantic:app", args=["--workers", "2"]) as srv:
        assert srv.serving["runtime"] == "process"
        before = children_of(srv.pid)
        assert len(before) == 2, before
        tag = uuid.uuid4().hex
        out: dict[str, Any] = {}

        def slow() -> None:
            start = time.monotonic()
            try:
                out["response"] = get(
                    srv, "/sleep", params={"secs": 8, "tag": tag}, timeout=30
                )
            except (
                requests.RequestException
            ) as exc:  # pragma: no cover - reported below
                out["error"] = exc
            out["elapsed"] = time.monotonic() - start

        t = threading.Thread(target=slow, daemon=True)
        t.start()
        rec = srv.wait_for_log(
            lambda rec: rec.get("msg") == f"sleep-start {tag}", timeout=10
        )
        assert rec is not None, "the slow handler never started:\n" + log_text(srv)
        victim = rec["worker_pid"]
        assert victim in before and victim != srv.pid, (victim, before)
        assert ppid_of(victim) == srv.pid
        os.kill(victim, signal.SIGKILL)
        t.join(15)
        assert not t.is_alive(), "the in-flight request never finished"
        assert "error" not in out, out
        r = out["response"]
        assert r.status_code == 502, (r.status_code, r.text)
        assert (
            out["elapsed"] < 6
        ), f"the client waited {out['elapsed']:.1f}s for a dead worker"
        assert r.headers.get("Content-Type", "").startswith(
            "application/json"
        ), r.headers
        assert "detail" in r.json(), r.text

        # The next requests succeed, on the survivor and then on a new process.
        seen: set[int] = set()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            resp = get(srv, "/pid")
            assert resp.status_code == 200, (resp.status_code, resp.text)
            seen.add(resp.json()["pid"])
            if len(seen - before) >= 1:
                break
            time.sleep(0.05)
        assert victim not in seen, seen
        new = seen - before
        assert new, (
            f"no new worker pid appeared (seen {seen}, before {before})\n"
            + log_text(srv)
        )
        assert all(ppid_of(p) == srv.pid for p in new), new
        after = children_of(srv.pid)
        assert victim not in after and len(after) == 2, (before, after)
        rid = r.headers.get("X-Request-ID")
        lost = srv.wait_for_log(
            lambda rec: rec.get("request_id") == rid
            and rec.get("level") in ("WARN", "ERROR"),
            timeout=5,
        )
        assert lost is not None, (
            "the lost worker was not logged with the request id:\n" + log_text(srv)
        )
        for _ in range(10):
            resp = post(srv, "/users", {"username": "bob", "email": "b@example.com"})
            assert resp.status_code == 200, resp.text


# --------------------------------------------------------------------------- one behaviour suite, every runtime


@pytest.fixture(
    scope="module", params=RUNTIMES, ids=[f"runtime-{rt}" for rt in RUNTIMES]
)
def rt_server(request):
    with running(
        "rt_basic:app", args=["--workers", "2", "--runtime", request.param]
    ) as srv:
        srv.runtime_name = request.param  # type: ignore[attr-defined]
        yield srv


def test_runtime_is_the_requested_one(rt_server):
    rt = rt_server.runtime_name
    assert rt_server.serving["runtime"] == rt, rt_server.serving
    who = get(rt_server, "/whoami").json()
    if rt == "process":
        assert who["pid"] != rt_server.pid
        assert ppid_of(who["pid"]) == rt_server.pid
    else:
        assert who["pid"] == rt_server.pid, who
        if rt == "main":
            assert who["interp"] == 0, who
        else:
            assert who["interp"] != 0, who


def test_path_and_query_conversion(rt_server):
    r = get(rt_server, "/items/42?q=7&ratio=1.5&flag=yes&tag=a&tag=b")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "item_id": 42,
        "item_id_type": "int",
        "q": 7,
        "q_type": "int",
        "ratio": 1.5,
        "flag": True,
        "tag": ["a", "b"],
    }
    r = get(rt_server, "/items/5")
    assert r.json()["q"] is None and r.json()["ratio"] == 0.5 and r.json()["tag"] == []


def test_validation_errors_have_fastapi_shape(rt_server):
    assert_validation_errors(
        get(rt_server, "/items/x?q=y"),
        ("int_parsing", ["path", "item_id"], "x"),
        ("int_parsing", ["query", "q"], "y"),
    )
    errs = assert_validation_errors(
        get(rt_server, "/bounded?n=11"), ("less_than_equal", ["query", "n"], "11")
    )
    assert errs[0]["ctx"] == {"le": 10}, errs
    assert_validation_errors(
        get(rt_server, "/bounded"), ("missing", ["query", "n"], None)
    )


def test_dataclass_body(rt_server):
    body = {
        "name": "desk",
        "price": 99.5,
        "size": {"width": 2, "height": 1.5},
        "tags": ["wood"],
    }
    r = post(rt_server, "/products", body)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "name": "desk",
        "price": 99.5,
        "area": 3.0,
        "tags": ["wood"],
        "types": ["Product", "Dimensions"],
    }
    bad = {"price": 1, "size": {"width": "wide", "height": 1}}
    assert_validation_errors(
        post(rt_server, "/products", bad),
        ("missing", ["body", "name"], bad),
        ("float_parsing", ["body", "size", "width"], "wide"),
    )


def test_http_exception(rt_server):
    r = get(rt_server, "/teapot")
    assert r.status_code == 418, r.text
    assert r.json() == {"detail": {"why": "short and stout"}}
    assert r.headers.get("X-Tea") == "earl-grey"


def test_unhandled_exception_is_a_bare_500(rt_server):
    r = get(rt_server, "/boom")
    assert r.status_code == 500, r.text
    assert r.json() == {"detail": "Internal Server Error"}
    for leak in ("Traceback", "S3CR3T", "/srv/app.py", "RuntimeError", "rt_basic"):
        assert leak not in r.text, r.text
    rid = r.headers["X-Request-ID"]
    rec = rt_server.wait_for_log(
        lambda rec: rec.get("request_id") == rid and rec.get("level") == "ERROR",
        timeout=5,
    )
    assert rec is not None, log_text(rt_server)
    assert "S3CR3T" in rec.get(
        "traceback", ""
    ), rec  # the traceback goes to the log instead


def test_async_handler(rt_server):
    r = get(rt_server, "/async", params={"delay": 0.02})
    assert r.status_code == 200, r.text
    assert r.json() == {"async": True, "results": [0, 1, 2]}


def test_head_on_a_get_route(rt_server):
    r = requests.head(rt_server.url("/whoami"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers.get("Content-Type", "").startswith("application/json"), r.headers


def test_unknown_path_and_wrong_method_are_json(rt_server):
    r = get(rt_server, "/no/such/path")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}
    r = get(rt_server, "/only-post")
    assert r.status_code == 405
    assert r.json() == {"detail": "Method Not Allowed"}
    assert "POST" in r.headers.get("Allow", ""), r.headers


def test_concurrent_requests_get_their_own_answers(rt_server):
    def one(i: int) -> tuple[str, requests.Response]:
        token = f"t{i}-{uuid.uuid4().hex}"
        with requests.Session() as s:
            resp = s.get(
                rt_server.url(f"/echo/{token}"),
                params={"q": token + "-q"},
                headers={"X-Token": token + "-h"},
                timeout=HTTP_TIMEOUT,
            )
        return token, resp

    with ThreadPoolExecutor(16) as ex:
        results = list(ex.map(one, range(100)))
    bad = [
        (tok, r.status_code, r.text)
        for tok, r in results
        if r.status_code != 200
        or r.json() != {"path": tok, "query": tok + "-q", "header": tok + "-h"}
    ]
    assert bad == [], bad[:5]


# --------------------------------------------------------------------------- bad runtime choices


def test_subinterpreters_runtime_refuses_pydantic_app_naming_the_module():
    res = run_cli(
        [
            "--app",
            "rt_pydantic:app",
            "--app-dir",
            str(APPS),
            "--port",
            "0",
            "--workers",
            "1",
            "--runtime",
            "subinterpreters",
        ],
        timeout=30,
    )
    assert res.returncode == 1, res.output
    assert "pydantic_core" in res.output, res.output
    assert "does not support loading in subinterpreters" in res.output, res.output
    assert '"msg":"serving"' not in res.output, res.output
    assert res.elapsed < 20, res.elapsed


def test_bogus_runtime_is_a_usage_error():
    res = run_cli(
        [
            "--app",
            "rt_basic:app",
            "--app-dir",
            str(APPS),
            "--port",
            "0",
            "--runtime",
            "bogus",
        ]
    )
    assert res.returncode == 2, res.output
    assert "--runtime" in res.output and "bogus" in res.output, res.output
    for choice in ("auto", "subinterpreters", "process", "main"):
        assert choice in res.stderr, res.stderr
    assert res.elapsed < 5, res.elapsed
