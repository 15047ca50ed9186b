"""Route decorators, APIRouter, status_code=, async handlers, HEAD, and the JSON 404/405 of the Go edge."""

import pytest
import requests

from .conftest import HTTP_TIMEOUT, raw_http, split_response


def call(srv, method, path, **kw):
    kw.setdefault("timeout", HTTP_TIMEOUT)
    return requests.request(method, srv.url(path), **kw)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "want"),
    [
        ("GET", "/api/v1/things/7", None, 200, {"thing_id": 7, "router": "v1"}),
        ("POST", "/api/v1/things", {"n": 1}, 201, {"created": {"n": 1}}),
        ("PUT", "/methods/thing/3", {"x": 1}, 200, {"method": "PUT", "tid": 3, "data": {"x": 1}}),
        ("PATCH", "/methods/thing/4", {"y": 2}, 200, {"method": "PATCH", "tid": 4, "data": {"y": 2}}),
        ("GET", "/methods/multi", None, 200, {"method": "GET"}),
        ("POST", "/methods/multi", None, 200, {"method": "POST"}),
        ("PUT", "/methods/multi", None, 200, {"method": "PUT"}),
        ("POST", "/status/created", None, 201, {"created": True}),
        ("GET", "/status/accepted", None, 202, {"accepted": True}),
        ("GET", "/async/sleep", None, 200, {"async": True}),
        ("GET", "/async/gather?x=5", None, 200, {"results": [10, 12]}),
    ],
    ids=["router-get", "router-post-201", "put", "patch", "api_route-get", "api_route-post", "api_route-put",
         "status-201", "status-202", "async", "async-gather"],
)
def test_routes(main_server, method, path, body, status, want):
    r = call(main_server, method, path, json=body)
    assert r.status_code == status, r.text
    assert r.json() == want


def test_router_validation_uses_the_prefixed_route(main_server):
    r = call(main_server, "GET", "/api/v1/things/x")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["path", "thing_id"]


def test_router_path_without_prefix_is_404(main_server):
    r = call(main_server, "GET", "/things/7")
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


def test_delete_with_status_204_has_no_body(main_server):
    r = call(main_server, "DELETE", "/methods/thing/9")
    assert r.status_code == 204
    assert r.content == b""


def test_options_route(main_server):
    r = call(main_server, "OPTIONS", "/methods/thing/5")
    assert r.status_code == 200
    assert r.headers["X-Options"] == "5"


def test_explicit_head_route(main_server):
    r = call(main_server, "HEAD", "/methods/explicit-head")
    assert r.status_code == 200
    assert r.headers["X-Head"] == "explicit"
    assert r.content == b""


@pytest.mark.parametrize("path", ["/ret/dict", "/api/v1/things/3", "/ret/html"], ids=["dict", "router", "html"])
def test_head_on_get_route_has_no_body_and_same_length(main_server, path):
    get = call(main_server, "GET", path)
    assert get.status_code == 200
    raw = raw_http(main_server.host, main_server.port,
                   f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    status, headers, body = split_response(raw)
    assert status == 200
    assert body == b"", "HEAD response carried a body"
    assert headers["content-length"] == [str(len(get.content))]
    assert headers["content-type"] == [get.headers["Content-Type"]]


@pytest.mark.parametrize(
    "path",
    ["/no/such/path", "/", "/path/int/5/extra", "/ret", "/API/V1/things/1"],
    ids=["unknown", "root", "extra-segment", "prefix-only", "case-differs"],
)
def test_unknown_path_is_json_404(main_server, path):
    r = call(main_server, "GET", path)
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Not Found"}
    assert r.headers.get("X-Request-ID")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/ret/dict", {"GET", "HEAD"}),
        ("POST", "/path/int/5", {"GET", "HEAD"}),
        ("GET", "/status/created", {"POST"}),
        ("DELETE", "/methods/multi", {"GET", "HEAD", "POST", "PUT"}),
        ("POST", "/methods/thing/1", {"PUT", "PATCH", "DELETE", "OPTIONS"}),
    ],
    ids=["get-route", "get-route-with-param", "post-route", "api_route", "several-routes-same-path"],
)
def test_wrong_method_is_json_405_with_allow(main_server, method, path, allowed):
    r = call(main_server, method, path)
    assert r.status_code == 405
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"detail": "Method Not Allowed"}
    got = {m.strip() for m in r.headers["Allow"].split(",")}
    assert got == allowed
