"""The Request object, the Response parameter, request bodies and return values."""

import json

import pytest
import requests

from .conftest import ANY, HTTP_TIMEOUT, assert_validation_errors, raw_http, split_response


def post(srv, path, **kw):
    kw.setdefault("timeout", HTTP_TIMEOUT)
    return requests.post(srv.url(path), **kw)


# --------------------------------------------------------------------------- Request


def test_request_object_fields(main_server):
    raw = raw_http(main_server.host, main_server.port, (
        b"POST /request/info?a=1&a=2&b=x%20y HTTP/1.1\r\n"
        b"Host: " + f"{main_server.host}:{main_server.port}".encode() + b"\r\n"
        b"X-Multi: one\r\nX-Custom-Header: Custom Value\r\nx-multi: two\r\n"
        b"Cookie: session=abc; theme=dark\r\n"
        b"Content-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n"
        b'{"k": [1, "two"]}'
    ))
    status, _, body = split_response(raw)
    assert status == 200, body
    got = json.loads(body)
    assert got["method"] == "POST"
    assert got["url"] == f"http://{main_server.host}:{main_server.port}/request/info?a=1&a=2&b=x%20y"
    assert got["path"] == "/request/info"
    assert got["query_a"] == ["1", "2"]
    assert got["query_b"] == "x y"
    assert got["multi"] == ["one", "two"]
    assert got["custom_upper"] == "Custom Value"
    assert got["custom_lower"] == "Custom Value"
    assert got["has_custom"] is True
    assert got["cookies"] == {"session": "abc", "theme": "dark"}
    assert got["client_host"] == "127.0.0.1"
    assert got["body"] == '{"k": [1, "two"]}'
    assert got["json"] == {"k": [1, "two"]}


def test_request_object_get_without_body(main_server):
    r = requests.get(main_server.url("/request/info"), headers={"X-Custom-Header": "v"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["method"] == "GET"
    assert got["body"] == ""
    assert got["json"] is None
    assert got["query_a"] == []
    assert got["query_b"] is None
    assert got["cookies"] == {}


def test_request_header_values_are_latin1(main_server):
    raw = raw_http(main_server.host, main_server.port, (
        b"GET /request/info HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Custom-Header: caf\xe9\r\nConnection: close\r\n\r\n"
    ))
    status, _, body = split_response(raw)
    assert status == 200, body
    assert json.loads(body)["custom_upper"] == "caf\xe9"


def test_response_parameter_sets_status_headers_cookies(main_server):
    r = requests.get(main_server.url("/response/param"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 201, r.text
    assert r.json() == {"ok": True}
    assert r.headers["X-Extra"] == "yes"
    assert r.cookies.get("sid") == "abc123"
    set_cookie = r.headers["Set-Cookie"]
    assert "sid=abc123" in set_cookie
    assert "httponly" in set_cookie.lower()


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    "data",
    [{}, {"a": 1}, {"nested": {"list": [1, 2, {"x": None}], "f": 1.5, "t": True}}, {"unicode": "héllo ✓"}],
    ids=["empty", "flat", "nested", "unicode"],
)
def test_dict_body(main_server, data):
    r = post(main_server, "/body/dict", json=data)
    assert r.status_code == 200, r.text
    assert r.json() == {"received": data}


def test_list_body(main_server):
    r = post(main_server, "/body/list", json=[1, 2, 3, 4])
    assert r.status_code == 200, r.text
    assert r.json() == {"sum": 10, "len": 4}


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/body/dict", [1, 2], [("dict_type", ["body"], [1, 2])]),
        ("/body/list", {"a": 1}, [("list_type", ["body"], {"a": 1})]),
        ("/body/list", [1, "x", 3], [("int_parsing", ["body", 1], "x")]),
    ],
    ids=["dict-got-list", "list-got-dict", "list-item"],
)
def test_dict_list_body_invalid_is_422(main_server, path, body, expected):
    assert_validation_errors(post(main_server, path, json=body), *expected)


USER_MIN = {"name": "Ann", "age": 30, "address": {"street": "Main St"}}
USER_FULL = {
    "name": "Bob", "age": 41, "address": {"street": "High St", "city": "Lyon"},
    "tags": ["a", "b"], "nickname": "bobby",
    "friends": [{"street": "F1"}, {"street": "F2", "city": "Nice"}],
}


@pytest.mark.parametrize(
    ("body", "want_user"),
    [
        (USER_MIN, {"name": "Ann", "age": 30, "address": {"street": "Main St", "city": "Paris"},
                    "tags": [], "nickname": None, "friends": []}),
        (USER_FULL, {"name": "Bob", "age": 41, "address": {"street": "High St", "city": "Lyon"},
                     "tags": ["a", "b"], "nickname": "bobby",
                     "friends": [{"street": "F1", "city": "Paris"}, {"street": "F2", "city": "Nice"}]}),
        ({**USER_MIN, "age": "30", "nickname": None}, {"name": "Ann", "age": 30, "address": {"street": "Main St", "city": "Paris"},
                                                      "tags": [], "nickname": None, "friends": []}),
    ],
    ids=["defaults-filled", "nested-lists-optional", "lax-int-string-and-explicit-null"],
)
def test_dataclass_body(main_server, body, want_user):
    r = post(main_server, "/body/user", json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["user"] == want_user
    assert got["is_dataclass"] == "User"
    assert got["address_type"] == "Address"
    assert got["friend_types"] == ["Address"] * len(want_user["friends"])
    assert got["age_type"] == "int"


def test_dataclass_returned_as_json(main_server):
    r = post(main_server, "/body/user/echo", json=USER_MIN)
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "Ann", "age": 30, "address": {"street": "Main St", "city": "Paris"},
                        "tags": [], "nickname": None, "friends": []}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": "Ann", "age": "old", "address": {}},
         [("int_parsing", ["body", "age"], "old"), ("missing", ["body", "address", "street"], ANY)]),
        ({"age": 3, "address": {"street": "s"}}, [("missing", ["body", "name"], ANY)]),
        ({**USER_MIN, "tags": "notalist"}, [("list_type", ["body", "tags"], "notalist")]),
        ({**USER_MIN, "tags": ["ok", 5]}, [("string_type", ["body", "tags", 1], 5)]),
        ({**USER_MIN, "friends": [{"street": "ok"}, {"city": "x"}]}, [("missing", ["body", "friends", 1, "street"], ANY)]),
        ({**USER_MIN, "nickname": 12}, [("string_type", ["body", "nickname"], 12)]),
        ({**USER_MIN, "address": "Main St"}, [(ANY, ["body", "address"], "Main St")]),
    ],
    ids=["wrong-type-and-nested-missing", "missing-field", "list-type", "list-item-type", "nested-list-item", "optional-wrong-type", "nested-not-object"],
)
def test_dataclass_body_invalid_is_422(main_server, body, expected):
    r = post(main_server, "/body/user", json=body)
    if any(t is ANY for t, _, _ in expected):
        # The error type for "object expected" differs between validators (dataclass_type, model_type...).
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["detail"]] == [loc for _, loc, _ in expected]
        return
    assert_validation_errors(r, *expected)


def test_missing_body_is_422(main_server):
    r = post(main_server, "/body/user")
    assert_validation_errors(r, ("missing", ["body"], None))


@pytest.mark.parametrize(
    "raw",
    [b'{"name": "Ann", ', b"not json at all", b'{"a": 1}}', b"\xff\xfe"],
    ids=["truncated", "garbage", "trailing-brace", "not-utf8"],
)
def test_malformed_json_is_422_json_invalid_or_400(main_server, raw):
    r = post(main_server, "/body/user", data=raw, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 422), r.text
    body = r.json()
    if r.status_code == 422:
        assert body["detail"][0]["type"] == "json_invalid", body
        assert body["detail"][0]["loc"][0] == "body", body
    else:
        assert "detail" in body


# --------------------------------------------------------------------------- return values


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/ret/dict", {"a": 1, "b": [1, 2], "c": None}),
        ("/ret/list", [1, "two", {"three": 3}]),
        ("/ret/none", None),
        ("/ret/str", "hello"),
        ("/ret/int", 42),
        ("/ret/dataclass", {"street": "Rue X", "city": "Paris"}),
    ],
    ids=["dict", "list", "none", "str", "int", "dataclass"],
)
def test_plain_return_values_are_json(main_server, path, want):
    r = requests.get(main_server.url(path), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == want
    assert int(r.headers["Content-Length"]) == len(r.content)


@pytest.mark.parametrize(
    ("path", "status", "ctype", "body", "header"),
    [
        ("/ret/response", 203, "application/octet-stream", b"raw-bytes", ("X-Raw", "1")),
        ("/ret/json", 202, "application/json", b'{"a":1}', ("X-J", "1")),
        ("/ret/plain", 200, "text/plain; charset=utf-8", b"plain text", None),
        ("/ret/html", 200, "text/html; charset=utf-8", b"<h1>hi</h1>", None),
    ],
    ids=["Response", "JSONResponse", "PlainTextResponse", "HTMLResponse"],
)
def test_response_classes(main_server, path, status, ctype, body, header):
    r = requests.get(main_server.url(path), timeout=HTTP_TIMEOUT)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == ctype
    if ctype == "application/json":
        assert json.loads(r.content) == json.loads(body)
    else:
        assert r.content == body
    if header:
        assert r.headers[header[0]] == header[1]


@pytest.mark.parametrize(
    ("path", "status", "location"),
    [("/ret/redirect", 307, "/ret/dict"), ("/ret/redirect-301", 301, "/ret/list")],
    ids=["default-307", "explicit-301"],
)
def test_redirect_response(main_server, path, status, location):
    r = requests.get(main_server.url(path), allow_redirects=False, timeout=HTTP_TIMEOUT)
    assert r.status_code == status
    assert r.headers["Location"] == location
    followed = requests.get(main_server.url(path), timeout=HTTP_TIMEOUT)
    assert followed.status_code == 200
    assert followed.url == main_server.url(location)
