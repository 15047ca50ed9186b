"""HTTPException, unhandled exceptions (500 without traceback; traceback in the log), debug mode."""

import uuid

import pytest
import requests

from .conftest import HTTP_TIMEOUT, running

LEAK_MARKERS = ("Traceback", "main_app.py", 'File "', "ValueError")


def test_http_exception_with_headers(main_server):
    r = requests.get(main_server.url("/errors/http"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 418
    assert r.json() == {"detail": "teapot"}
    assert r.headers["X-Error"] == "tea"
    assert r.headers["Content-Type"].startswith("application/json")


def test_http_exception_with_structured_detail(main_server):
    r = requests.get(main_server.url("/errors/http-dict"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 409
    assert r.json() == {"detail": {"code": 42, "why": "conflict"}}


def test_http_exception_default_detail_is_reason_phrase(main_server):
    r = requests.get(main_server.url("/errors/http-default"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


@pytest.mark.parametrize("path", ["/boom", "/boom-async"], ids=["sync", "async"])
def test_unhandled_exception_is_500_without_traceback(main_server, path):
    secret = f"kaboom-{uuid.uuid4().hex}"
    r = requests.get(main_server.url(path), params={"msg": secret}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 500
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Internal Server Error"}
    assert secret not in r.text
    for marker in LEAK_MARKERS:
        assert marker not in r.text


@pytest.mark.parametrize("path", ["/ret/unserializable", "/ret/bad-header"], ids=["unserializable", "header-injection"])
def test_invalid_return_value_is_500_without_details(main_server, path):
    r = requests.get(main_server.url(path), timeout=HTTP_TIMEOUT)
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal Server Error"}
    assert "Injected" not in r.headers
    assert "X-Bad" not in r.headers
    assert requests.get(main_server.url("/health"), timeout=HTTP_TIMEOUT).status_code == 200


@pytest.mark.parametrize("path", ["/boom", "/boom-async"], ids=["sync", "async"])
def test_unhandled_exception_traceback_goes_to_the_log(main_server, path):
    secret = f"logged-{uuid.uuid4().hex}"
    before = len(main_server.logs())
    r = requests.get(main_server.url(path), params={"msg": secret}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 500
    assert main_server.wait_for_text(secret, timeout=5), "the exception message never reached the log"
    text = "\n".join(main_server.logs()[before:])
    assert "Traceback" in text, text
    assert "ValueError" in text, text
    assert "main_app.py" in text, text  # the user's file and line are in the traceback


def test_unhandled_exception_log_carries_the_request_id(main_server):
    secret = f"rid-{uuid.uuid4().hex}"
    rid = f"e2e-boom-{uuid.uuid4().hex}"
    r = requests.get(main_server.url("/boom"), params={"msg": secret}, headers={"X-Request-ID": rid}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 500
    assert r.headers["X-Request-ID"] == rid
    rec = main_server.wait_for_log(lambda rec: secret in str(rec) and "Traceback" in str(rec), timeout=5)
    assert rec is not None, "no JSON log record holds both the exception and its traceback"
    assert rec.get("request_id") == rid, rec
    assert rec.get("level") == "ERROR", rec


def test_python_logging_is_json_with_request_id(main_server):
    msg = f"hello-log-{uuid.uuid4().hex}"
    rid = f"e2e-log-{uuid.uuid4().hex}"
    r = requests.get(main_server.url("/log"), params={"msg": msg}, headers={"X-Request-ID": rid}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    rec = main_server.wait_for_log(lambda rec: rec.get("msg") == msg, timeout=5)
    assert rec is not None, [line for line in main_server.logs() if msg in line]
    assert rec["level"] == "WARN"
    assert rec["logger"] == "e2e.app"
    assert rec["request_id"] == rid
    assert "time" in rec


@pytest.fixture(scope="module")
def debug_flag_server():
    with running("main_app:app", args=["--workers", "1", "--debug", "--access-log=false"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def debug_app_server():
    with running("debug_app:app", args=["--workers", "1"]) as srv:
        yield srv


@pytest.mark.parametrize("how", ["flag", "app-setting"])
def test_debug_puts_traceback_in_body(debug_flag_server, debug_app_server, how):
    srv = debug_flag_server if how == "flag" else debug_app_server
    secret = f"debug-{uuid.uuid4().hex}"
    r = requests.get(srv.url("/boom"), params={"msg": secret}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 500
    assert "Traceback" in r.text, r.text
    assert secret in r.text, r.text
    assert ("ValueError" if how == "flag" else "KeyError") in r.text, r.text


@pytest.mark.parametrize("how", ["flag", "app-setting"])
def test_debug_mode_warns_at_start(debug_flag_server, debug_app_server, how):
    srv = debug_flag_server if how == "flag" else debug_app_server
    rec = srv.wait_for_log(lambda rec: rec.get("level") == "WARN" and "debug" in str(rec.get("msg", "")).lower(), timeout=1)
    assert rec is not None, srv.logs()


def test_debug_still_serves_normal_requests(debug_flag_server, debug_app_server):
    assert requests.get(debug_flag_server.url("/health"), timeout=HTTP_TIMEOUT).json() == {"status": "ok"}
    assert requests.get(debug_app_server.url("/ok"), timeout=HTTP_TIMEOUT).json() == {"ok": True}


def test_access_log_can_be_turned_off(debug_flag_server):
    rid = f"e2e-nolog-{uuid.uuid4().hex}"
    r = requests.get(debug_flag_server.url("/health"), headers={"X-Request-ID": rid}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200
    assert r.headers["X-Request-ID"] == rid
    assert debug_flag_server.wait_for_log(lambda rec: rec.get("msg") == "request", timeout=0.5) is None
