"""The Go edge: request ids, JSON access log, queue limit (503), 404/405 outside Python, size and time limits."""

import contextlib
import json
import re
import socket
import time
import uuid

import pytest
import requests

from .conftest import HTTP_TIMEOUT, parse_json_line, raw_http, running, split_response, start_slow_request

SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


# --------------------------------------------------------------------------- request ids


@pytest.mark.parametrize(
    "rid",
    ["abc-123", "req.id_1:2", "A" * 128, str(uuid.uuid4())],
    ids=["simple", "dots-underscore-colon", "128-chars", "uuid"],
)
def test_sane_request_id_is_kept(sub_server, rid):
    r = requests.get(sub_server.url("/request/info"), headers={"X-Request-ID": rid, "X-Custom-Header": "v"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["X-Request-ID"] == rid
    assert r.json()["request_id"] == rid  # the handler sees the same id


@pytest.mark.parametrize(
    "rid",
    ["has space", "A" * 129, "<script>alert(1)</script>", "semi;colon", "quote\"d", "", "caf\xe9"],
    ids=["space", "129-chars", "html", "semicolon", "quote", "empty", "non-ascii"],
)
def test_insane_request_id_is_replaced(sub_server, rid):
    r = requests.get(sub_server.url("/request/info"), headers={"X-Request-ID": rid, "X-Custom-Header": "v"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    got = r.headers["X-Request-ID"]
    assert got != rid
    assert SANE_ID.match(got), got
    assert r.json()["request_id"] == got  # the handler sees the replacement, not the client's value


def test_repeated_request_id_header_is_replaced(sub_server):
    raw = raw_http(sub_server.host, sub_server.port, (
        b"GET /request/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Custom-Header: v\r\n"
        b"X-Request-ID: first\r\nX-Request-ID: second\r\nConnection: close\r\n\r\n"
    ))
    status, headers, body = split_response(raw)
    assert status == 200, body
    [rid] = headers["x-request-id"]
    assert rid not in ("first", "second") and SANE_ID.match(rid), rid
    assert json.loads(body)["request_id"] == rid


def test_request_id_generated_when_absent_and_unique(sub_server):
    ids = [requests.get(sub_server.url("/health"), timeout=HTTP_TIMEOUT).headers["X-Request-ID"] for _ in range(5)]
    assert all(SANE_ID.match(i) for i in ids), ids
    assert len(set(ids)) == 5, ids


@pytest.mark.parametrize(
    ("path", "status"),
    [("/health", 200), ("/no/such/path", 404), ("/boom", 500), ("/path/int/x", 422)],
    ids=["ok", "go-404", "python-500", "python-422"],
)
def test_request_id_returned_on_every_response(sub_server, path, status):
    r = requests.get(sub_server.url(path), timeout=HTTP_TIMEOUT)
    assert r.status_code == status
    assert SANE_ID.match(r.headers.get("X-Request-ID", "")), r.headers


# --------------------------------------------------------------------------- access log


@pytest.mark.parametrize(
    ("method", "path", "status", "send_id"),
    [
        ("GET", "/health", 200, True),
        ("GET", "/no/such/path", 404, True),
        ("DELETE", "/health", 405, True),
        ("POST", "/status/created", 201, False),
    ],
    ids=["200-client-id", "404-client-id", "405-client-id", "201-generated-id"],
)
def test_access_log_line_is_json_with_request_id(sub_server, method, path, status, send_id):
    headers = {"X-Request-ID": f"e2e-access-{uuid.uuid4().hex}"} if send_id else {}
    r = requests.request(method, sub_server.url(path), headers=headers, timeout=HTTP_TIMEOUT)
    assert r.status_code == status
    rid = r.headers["X-Request-ID"]
    rec = sub_server.wait_for_log(lambda rec: rec.get("msg") == "request" and rec.get("request_id") == rid, timeout=3)
    assert rec is not None, f"no access log line for {rid}"
    assert rec["method"] == method
    assert rec["path"] == path
    assert rec["status"] == status
    assert rec["level"] == "INFO"


def test_every_log_line_is_json(sub_server):
    requests.get(sub_server.url("/health"), timeout=HTTP_TIMEOUT)
    lines = [line for line in sub_server.logs() if line.strip()]
    assert lines
    not_json = [line for line in lines if parse_json_line(line) is None]
    assert not_json == []


def test_serving_line(sub_server):
    rec = sub_server.serving
    assert rec["level"] == "INFO"
    assert rec["url"] == sub_server.base_url
    assert rec["url"].startswith("http://127.0.0.1:")
    assert rec["workers"] == 2
    assert rec["runtime"] == "subinterpreters"  # auto picks own-GIL sub-interpreters for a pure-Python app


# --------------------------------------------------------------------------- queue limit, and 404/405 never enter Python


@pytest.fixture(scope="module")
def busy_server():
    """One interpreter, a queue of one: easy to saturate. Short header timeout, small header cap."""
    args = ["--workers", "1", "--queue-size", "1", "--read-header-timeout", "1s", "--max-header-bytes", "4096"]
    with running("main_app:app", args=args) as srv:
        yield srv


@contextlib.contextmanager
def saturated(srv, running_secs=1.5):
    """Occupy the only interpreter with one slow request and fill the queue with another."""
    t_run, running_out = start_slow_request(srv, running_secs)
    t_queued, queued_out = start_slow_request(srv, 0.01, wait_running=False)
    time.sleep(0.2)  # it now waits in the queue
    try:
        yield
    finally:
        t_run.join(20)
        t_queued.join(20)
    for out in (running_out, queued_out):
        assert "error" not in out, out
        assert out["response"].status_code == 200, out["response"].text


def test_queue_full_is_503_with_retry_after(busy_server):
    with saturated(busy_server):
        start = time.monotonic()
        r = requests.get(busy_server.url("/health"), timeout=HTTP_TIMEOUT)
        elapsed = time.monotonic() - start
    assert r.status_code == 503, r.text
    assert r.headers["Retry-After"].isdigit()
    assert r.headers["Content-Type"].startswith("application/json")
    assert isinstance(r.json()["detail"], str)
    assert elapsed < 0.5, f"503 took {elapsed:.2f}s: the server queued instead of refusing"
    assert requests.get(busy_server.url("/health"), timeout=HTTP_TIMEOUT).status_code == 200


def test_404_and_405_never_enter_python(busy_server):
    # Every interpreter is busy and the queue is full: a request that needed Python would get 503
    # (or wait). 404 and 405 must be answered at once by Go.
    with saturated(busy_server):
        start = time.monotonic()
        not_found = requests.get(busy_server.url("/no/such/path"), timeout=HTTP_TIMEOUT)
        wrong_method = requests.delete(busy_server.url("/slow"), timeout=HTTP_TIMEOUT)
        wrong_method_param = requests.post(busy_server.url("/path/int/3"), timeout=HTTP_TIMEOUT)
        elapsed = time.monotonic() - start
        control = requests.get(busy_server.url("/health"), timeout=HTTP_TIMEOUT)
    assert control.status_code == 503, "the pool was not saturated, so this test proves nothing"
    assert not_found.status_code == 404, not_found.text
    assert not_found.json() == {"detail": "Not Found"}
    assert wrong_method.status_code == 405, wrong_method.text
    assert wrong_method.json() == {"detail": "Method Not Allowed"}
    assert {m.strip() for m in wrong_method.headers["Allow"].split(",")} == {"GET", "HEAD"}
    assert wrong_method_param.status_code == 405, wrong_method_param.text
    assert elapsed < 0.5, f"404/405 took {elapsed:.2f}s while Python was busy"


# --------------------------------------------------------------------------- hardened limits


def test_read_header_timeout_closes_slow_clients(busy_server):
    with socket.create_connection((busy_server.host, busy_server.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never finishes the headers
        start = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            while s.recv(4096):
                pass
        elapsed = time.monotonic() - start
    assert 0.5 < elapsed < 3.5, f"connection closed after {elapsed:.2f}s with --read-header-timeout 1s"


@pytest.mark.parametrize(("size", "status"), [(1000, 200), (20000, 431)], ids=["small", "over-cap"])
def test_max_header_bytes(busy_server, size, status):
    # stream=True: the server closes right after a 431 without reading the rest of the request,
    # so the client may see a reset while reading the (irrelevant) error body.
    with requests.get(busy_server.url("/health"), headers={"X-Big": "a" * size}, timeout=HTTP_TIMEOUT, stream=True) as r:
        assert r.status_code == status


@pytest.mark.parametrize(
    ("size", "chunked", "status"),
    [(3000, False, 200), (6000, False, 413), (3000, True, 200), (6000, True, 413)],
    ids=["under-cap", "over-cap", "chunked-under-cap", "chunked-over-cap"],
)
def test_app_max_request_size_is_enforced(sub_server, size, chunked, status):
    # main_app sets max_request_size="4KB" (4000 or 4096 bytes).
    body = b'{"s": "' + b"x" * (size - 9) + b'"}'
    assert len(body) == size
    data = iter([body[:1000], body[1000:]]) if chunked else body
    r = requests.post(sub_server.url("/body/dict"), data=data, headers={"Content-Type": "application/json"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == status, r.text[:200]
    if status == 413:
        assert r.headers["Content-Type"].startswith("application/json")
        assert "detail" in r.json()
    else:
        assert len(r.json()["received"]["s"]) == size - 9
