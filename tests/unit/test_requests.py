"""The Request object and its parts."""

from __future__ import annotations

from typing import Any

import pytest

from gofastapi import GoFastAPI, Request
from gofastapi.requests import URL, Headers, QueryParams, parse_query
from gofastapi.testclient import TestClient


def test_request_attributes(app: GoFastAPI, client: TestClient) -> None:
    @app.post("/items/{item_id}")
    def inspect(item_id: str, request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "scheme": request.url.scheme,
            "netloc": request.url.netloc,
            "url": str(request.url),
            "path_params": request.path_params,
            "q": request.query_params.getlist("q"),
            "items": request.query_params.multi_items(),
            "ua": request.headers["User-Agent"],
            "has_host": "host" in request.headers,
            "cookies": request.cookies,
            "client": [request.client.host, request.client.port],
            "body": request.body_bytes.decode(),
            "json": request.get_json(),
            "request_id": bool(request.request_id),
        }

    response = client.post(
        "/items/a%20b?q=1&q=2&x=", json={"k": "v"}, cookies={"c": "1"}
    )
    assert response.json() == {
        "method": "POST",
        "path": "/items/a b",
        "query": "q=1&q=2&x=",
        "scheme": "http",
        "netloc": "testserver",
        "url": "http://testserver/items/a%20b?q=1&q=2&x=",
        "path_params": {"item_id": "a b"},
        "q": ["1", "2"],
        "items": [["q", "1"], ["q", "2"], ["x", ""]],
        "ua": "testclient",
        "has_host": True,
        "cookies": {"c": "1"},
        "client": ["testclient", 50000],
        "body": '{"k":"v"}',
        "json": {"k": "v"},
        "request_id": True,
    }


def test_async_body_and_json(app: GoFastAPI, client: TestClient) -> None:
    @app.post("/echo")
    async def echo(request: Request) -> dict[str, Any]:
        body = await request.body()
        data = await request.json()
        return {"len": len(body), "data": data}

    assert client.post("/echo", json=[1, 2]).json() == {"len": 5, "data": [1, 2]}


def test_state_is_per_request(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/s")
    def s(request: Request) -> bool:
        seen = hasattr(request.state, "flag")
        request.state.flag = True
        return seen

    assert client.get("/s").json() is False
    assert client.get("/s").json() is False


def test_headers_multi_and_case_insensitive() -> None:
    headers = Headers(raw="host: x\r\nx-a: 1\r\nx-a: 2\r\ncontent-type: text/plain\r\n")
    assert headers["X-A"] == "1"
    assert headers.getlist("x-a") == ["1", "2"]
    assert "Content-Type" in headers
    assert headers.get("missing") is None
    assert headers.items()[0] == ("host", "x")
    assert len(headers) == 4


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a=1&b=2", [("a", "1"), ("b", "2")]),
        ("a=1&a=2", [("a", "1"), ("a", "2")]),
        ("a", [("a", "")]),
        ("a=&&b", [("a", ""), ("b", "")]),
        ("q=a+b%20c", [("q", "a b c")]),
        ("%E2%98%83=%FF", [("☃", "\ufffd")]),
        ("", []),
    ],
    ids=[
        "simple",
        "repeated",
        "no-value",
        "empty-fields",
        "plus-and-percent",
        "utf8-and-invalid",
        "empty",
    ],
)
def test_parse_query_matches_parse_qsl(
    raw: str, expected: list[tuple[str, str]]
) -> None:
    from urllib.parse import parse_qsl

    assert parse_query(raw) == expected
    assert parse_query(raw) == parse_qsl(raw, keep_blank_values=True)


def test_query_params_mapping() -> None:
    q = QueryParams("a=1&a=2&b=3")
    assert q["a"] == "2"
    assert q.get("b") == "3"
    assert q.getlist("a") == ["1", "2"]
    assert list(q) == ["a", "b"]
    assert dict(q.items()) == {"a": "2", "b": "3"}
    assert str(q) == "a=1&a=2&b=3"


def test_url_parts() -> None:
    url = URL("https", "example.com:8443", "/a b", "x=1")
    assert (url.hostname, url.port) == ("example.com", 8443)
    assert str(url) == "https://example.com:8443/a%20b?x=1"
    v6 = URL("http", "[::1]:80", "/", "")
    assert (v6.hostname, v6.port) == ("::1", 80)
