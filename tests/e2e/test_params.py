"""Path, query, header, cookie and body parameters: conversion, markers, constraints and 422 shapes."""

import json
import uuid

import pytest
import requests

from .conftest import ANY, HTTP_TIMEOUT, assert_validation_errors, raw_http, split_response

U = str(uuid.UUID("5f0c6a57-6f7c-4b8e-9a53-7c1d1a0e2b10"))


def get(srv, path, **kw):
    kw.setdefault("timeout", HTTP_TIMEOUT)
    return requests.get(srv.url(path), **kw)


# --------------------------------------------------------------------------- path parameters


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/path/int/42", {"v": 42, "type": "int"}),
        ("/path/int/-7", {"v": -7, "type": "int"}),
        ("/path/int/007", {"v": 7, "type": "int"}),
        ("/path/float/1.5", {"v": 1.5, "type": "float"}),
        ("/path/float/3", {"v": 3.0, "type": "float"}),
        ("/path/float/1e3", {"v": 1000.0, "type": "float"}),
        ("/path/str/hello", {"v": "hello", "type": "str"}),
        ("/path/str/hello%20world", {"v": "hello world", "type": "str"}),
        ("/path/str/caf%C3%A9", {"v": "café", "type": "str"}),
        ("/path/str/123", {"v": "123", "type": "str"}),
        ("/path/bool/true", {"v": True, "type": "bool"}),
        ("/path/bool/True", {"v": True, "type": "bool"}),
        ("/path/bool/1", {"v": True, "type": "bool"}),
        ("/path/bool/yes", {"v": True, "type": "bool"}),
        ("/path/bool/on", {"v": True, "type": "bool"}),
        ("/path/bool/false", {"v": False, "type": "bool"}),
        ("/path/bool/0", {"v": False, "type": "bool"}),
        ("/path/bool/no", {"v": False, "type": "bool"}),
        ("/path/bool/off", {"v": False, "type": "bool"}),
        (f"/path/uuid/{U}", {"v": U, "type": "UUID", "version": 4}),
        (f"/path/uuid/{U.upper()}", {"v": U, "type": "UUID", "version": 4}),
        (f"/path/uuid/{U.replace('-', '')}", {"v": U, "type": "UUID", "version": 4}),
        ("/path/enum/red", {"v": "red", "type": "Color", "name": "red"}),
        ("/path/enum/blue", {"v": "blue", "type": "Color", "name": "blue"}),
        ("/path/two/3/items/abc", {"user_id": 3, "item_id": "abc"}),
    ],
    ids=[
        "int", "int-negative", "int-leading-zeros", "float", "float-from-int", "float-exponent",
        "str", "str-percent-decoded", "str-utf8", "str-digits-stay-str",
        "bool-true", "bool-True", "bool-1", "bool-yes", "bool-on", "bool-false", "bool-0", "bool-no", "bool-off",
        "uuid", "uuid-upper", "uuid-no-dashes", "enum-red", "enum-blue", "two-params",
    ],
)
def test_path_param_conversion(main_server, path, want):
    r = get(main_server, path)
    assert r.status_code == 200, r.text
    assert r.json() == want


@pytest.mark.parametrize(
    ("path", "type_", "input_"),
    [
        ("/path/int/abc", "int_parsing", "abc"),
        ("/path/int/1.5", "int_parsing", "1.5"),
        ("/path/float/x1", "float_parsing", "x1"),
        ("/path/bool/maybe", "bool_parsing", "maybe"),
        ("/path/uuid/not-a-uuid", "uuid_parsing", "not-a-uuid"),
        ("/path/enum/purple", "enum", "purple"),
        ("/path/enum/RED", "enum", "RED"),
        ("/path/two/x/items/abc", "int_parsing", "x"),
    ],
    ids=["int-letters", "int-fraction", "float", "bool", "uuid", "enum-unknown", "enum-case", "two-params-first"],
)
def test_path_param_invalid_is_422(main_server, path, type_, input_):
    name = "user_id" if "/two/" in path else "v"
    assert_validation_errors(get(main_server, path), (type_, ["path", name], input_))


def test_enum_error_message_lists_members(main_server):
    [err] = assert_validation_errors(get(main_server, "/path/enum/purple"), ("enum", ["path", "v"], "purple"))
    assert all(c in err["msg"] for c in ("'red'", "'green'", "'blue'")), err


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/files/a/b/c.txt", "a/b/c.txt"),
        ("/files/x", "x"),
        ("/files/dir/", "dir/"),
        ("/files/with%20space/f.txt", "with space/f.txt"),
        ("/files/", ""),
    ],
    ids=["nested", "one-segment", "trailing-slash", "percent-decoded", "empty"],
)
def test_catch_all_path(main_server, path, want):
    r = get(main_server, path)
    assert r.status_code == 200, r.text
    assert r.json() == {"file_path": want}


# --------------------------------------------------------------------------- query parameters


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("", {"q": None, "limit": 10, "ratio": 0.5, "flag": False}),
        ("?q=x&limit=3&ratio=0.25&flag=true", {"q": "x", "limit": 3, "ratio": 0.25, "flag": True}),
        ("?flag=yes", {"q": None, "limit": 10, "ratio": 0.5, "flag": True}),
        ("?flag=0", {"q": None, "limit": 10, "ratio": 0.5, "flag": False}),
        ("?q=a+b%2Bc", {"q": "a b+c", "limit": 10, "ratio": 0.5, "flag": False}),
        ("?q=", {"q": "", "limit": 10, "ratio": 0.5, "flag": False}),
        ("?limit=1&limit=2", {"q": None, "limit": 2, "ratio": 0.5, "flag": False}),
        ("?unknown=1", {"q": None, "limit": 10, "ratio": 0.5, "flag": False}),
    ],
    ids=["defaults", "all-given", "bool-yes", "bool-0", "plus-and-percent", "empty-string", "repeated-scalar-last-wins", "unknown-ignored"],
)
def test_query_defaults_and_optional(main_server, query, want):
    r = get(main_server, "/query/defaults" + query)
    assert r.status_code == 200, r.text
    assert r.json() == want


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?limit=abc", [("int_parsing", ["query", "limit"], "abc")]),
        ("?ratio=half", [("float_parsing", ["query", "ratio"], "half")]),
        ("?flag=perhaps", [("bool_parsing", ["query", "flag"], "perhaps")]),
        ("?limit=x&ratio=y", [("int_parsing", ["query", "limit"], "x"), ("float_parsing", ["query", "ratio"], "y")]),
    ],
    ids=["int", "float", "bool", "two-errors-reported"],
)
def test_query_invalid_is_422(main_server, query, expected):
    assert_validation_errors(get(main_server, "/query/defaults" + query), *expected)


def test_query_required_missing_is_422(main_server):
    [err] = assert_validation_errors(get(main_server, "/query/required"), ("missing", ["query", "needed"], None))
    assert err["msg"] == "Field required"


def test_query_required_given(main_server):
    r = get(main_server, "/query/required?needed=5")
    assert r.status_code == 200, r.text
    assert r.json() == {"needed": 5}


@pytest.mark.parametrize(
    ("query", "want"),
    [
        ("", {"tag": [], "n": None}),
        ("?tag=a", {"tag": ["a"], "n": None}),
        ("?tag=a&tag=b&tag=a", {"tag": ["a", "b", "a"], "n": None}),
        ("?n=1&n=2&tag=z", {"tag": ["z"], "n": [1, 2]}),
    ],
    ids=["absent", "one", "repeated-keeps-order", "list-int"],
)
def test_query_list_repeated_keys(main_server, query, want):
    r = get(main_server, "/query/list" + query)
    assert r.status_code == 200, r.text
    assert r.json() == want


def test_query_list_item_invalid_is_422_with_index(main_server):
    assert_validation_errors(get(main_server, "/query/list?n=1&n=x"), ("int_parsing", ["query", "n", 1], "x"))


# --------------------------------------------------------------------------- Query / Path markers


def test_query_marker_alias(main_server):
    r = get(main_server, "/markers/query?item-query=abc")
    assert r.status_code == 200, r.text
    assert r.json() == {"q": "abc"}


@pytest.mark.parametrize(
    ("query", "type_", "input_"),
    [
        ("", "missing", None),
        ("?q=abc", "missing", None),
        ("?item-query=a", "string_too_short", "a"),
        ("?item-query=abcdef", "string_too_long", "abcdef"),
        ("?item-query=AB1", "string_pattern_mismatch", "AB1"),
    ],
    ids=["missing", "python-name-is-not-the-alias", "min_length", "max_length", "pattern"],
)
def test_query_marker_constraints(main_server, query, type_, input_):
    assert_validation_errors(get(main_server, "/markers/query" + query), (type_, ["query", "item-query"], input_))


@pytest.mark.parametrize(
    ("query", "want"),
    [("?n=1", {"n": 1, "x": 0.5}), ("?n=10&x=0.99", {"n": 10, "x": 0.99}), ("?n=5&x=0.01", {"n": 5, "x": 0.01})],
    ids=["ge-edge-and-default", "le-edge", "gt-near-edge"],
)
def test_numeric_constraints_accept(main_server, query, want):
    r = get(main_server, "/markers/numbers" + query)
    assert r.status_code == 200, r.text
    assert r.json() == want


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?n=0", [("greater_than_equal", ["query", "n"], "0")]),
        ("?n=11", [("less_than_equal", ["query", "n"], "11")]),
        ("?n=5&x=0", [("greater_than", ["query", "x"], "0")]),
        ("?n=5&x=1", [("less_than", ["query", "x"], "1")]),
        ("?n=0&x=2", [("greater_than_equal", ["query", "n"], "0"), ("less_than", ["query", "x"], "2")]),
    ],
    ids=["ge", "le", "gt", "lt", "two-errors"],
)
def test_numeric_constraints_reject(main_server, query, expected):
    assert_validation_errors(get(main_server, "/markers/numbers" + query), *expected)


@pytest.mark.parametrize(
    ("value", "status", "type_"),
    [("1", 200, None), ("1000", 200, None), ("0", 422, "greater_than_equal"), ("1001", 422, "less_than_equal"), ("x", 422, "int_parsing")],
    ids=["ge-edge", "le-edge", "below", "above", "not-int"],
)
def test_path_marker_constraints(main_server, value, status, type_):
    r = get(main_server, f"/markers/path/{value}")
    if status == 200:
        assert r.status_code == 200, r.text
        assert r.json() == {"item_id": int(value)}
    else:
        assert_validation_errors(r, (type_, ["path", "item_id"], value))


# --------------------------------------------------------------------------- Header / Cookie


def test_header_marker_underscores_to_hyphens_case_insensitive(main_server):
    r = get(main_server, "/markers/header", headers={"X-TOKEN": "secret", "User-Agent": "e2e-agent/1.0", "x-custom-auth": "Bearer t"})
    assert r.status_code == 200, r.text
    assert r.json() == {"x_token": "secret", "user_agent": "e2e-agent/1.0", "x_tag": None, "auth": "Bearer t"}


def test_header_marker_repeated_header_is_a_list(main_server):
    raw = raw_http(main_server.host, main_server.port, (
        b"GET /markers/header HTTP/1.1\r\nHost: 127.0.0.1\r\nx-token: t\r\n"
        b"X-Tag: first\r\nx-tag: second\r\nConnection: close\r\n\r\n"
    ))
    status, _, body = split_response(raw)
    assert status == 200, body
    assert json.loads(body)["x_tag"] == ["first", "second"]


@pytest.mark.parametrize(
    ("headers", "type_", "input_"),
    [({}, "missing", None), ({"X-Token": "123456789"}, "string_too_long", "123456789")],
    ids=["missing", "max_length"],
)
def test_header_marker_invalid_is_422(main_server, headers, type_, input_):
    assert_validation_errors(get(main_server, "/markers/header", headers=headers), (type_, ["header", "x-token"], input_))


def test_header_with_python_name_is_not_read(main_server):
    # x_token must come from the "x-token" header; a header literally named "x_token" does not count.
    raw = raw_http(main_server.host, main_server.port,
                   b"GET /markers/header HTTP/1.1\r\nHost: 127.0.0.1\r\nx_token: t\r\nConnection: close\r\n\r\n")
    status, _, body = split_response(raw)
    assert status in (400, 422), body  # net/http may refuse the underscore; Python must not accept it
    if status == 422:
        assert [e["loc"] for e in json.loads(body)["detail"]] == [["header", "x-token"]]


@pytest.mark.parametrize(
    ("cookie", "want"),
    [
        (None, {"session_id": None, "count": 0}),
        ("session_id=s1", {"session_id": "s1", "count": 0}),
        ("session_id=s1; visit_count=3", {"session_id": "s1", "count": 3}),
        ("other=1; visit_count=7", {"session_id": None, "count": 7}),
    ],
    ids=["none", "one", "alias-and-int", "unrelated-cookie"],
)
def test_cookie_marker(main_server, cookie, want):
    r = get(main_server, "/markers/cookie", headers={"Cookie": cookie} if cookie else {})
    assert r.status_code == 200, r.text
    assert r.json() == want


@pytest.mark.parametrize(
    ("cookie", "type_", "input_"),
    [("visit_count=-1", "greater_than_equal", "-1"), ("visit_count=abc", "int_parsing", "abc")],
    ids=["ge", "not-int"],
)
def test_cookie_marker_invalid_is_422(main_server, cookie, type_, input_):
    r = get(main_server, "/markers/cookie", headers={"Cookie": cookie})
    assert_validation_errors(r, (type_, ["cookie", "visit_count"], input_))


# --------------------------------------------------------------------------- Body markers


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ({"name": "ab"}, {"name": "ab", "quantity": 1, "note": None}),
        ({"name": "abc", "quantity": 100, "the-note": "hi"}, {"name": "abc", "quantity": 100, "note": "hi"}),
        ({"name": "ab", "note": "ignored"}, {"name": "ab", "quantity": 1, "note": None}),
    ],
    ids=["defaults", "alias-and-le-edge", "python-name-is-not-the-alias"],
)
def test_body_markers(main_server, body, want):
    r = requests.post(main_server.url("/markers/body"), json=body, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == want


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, [("missing", ["body", "name"], ANY)]),
        ({"name": "a"}, [("string_too_short", ["body", "name"], "a")]),
        ({"name": "ab", "quantity": 0}, [("greater_than_equal", ["body", "quantity"], 0)]),
        ({"name": "ab", "quantity": 101}, [("less_than_equal", ["body", "quantity"], 101)]),
        ({"name": "a", "quantity": "many"}, [("string_too_short", ["body", "name"], "a"), ("int_parsing", ["body", "quantity"], "many")]),
    ],
    ids=["missing", "min_length", "ge", "le", "two-errors"],
)
def test_body_markers_invalid_is_422(main_server, body, expected):
    r = requests.post(main_server.url("/markers/body"), json=body, timeout=HTTP_TIMEOUT)
    assert_validation_errors(r, *expected)


def test_body_marker_takes_whole_body(main_server):
    r = requests.post(main_server.url("/markers/body-whole"), json={"x": 1, "y": [True, None]}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == {"payload": {"x": 1, "y": [True, None]}}
