"""Return values, response classes, cookies, header safety and response models."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

import pytest

from gofastapi import (
    GoFastAPI,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from gofastapi.testclient import TestClient


class Color(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: int


@dataclasses.dataclass
class PublicUser:
    name: str
    email: str | None = None


@dataclasses.dataclass
class PrivateUser:
    name: str
    email: str
    password: str


@pytest.mark.parametrize(
    ("value", "body"),
    [
        ({"a": 1}, b'{"a":1}'),
        ([1, "x"], b'[1,"x"]'),
        (None, b"null"),
        ("hé", '"hé"'.encode()),
        (3, b"3"),
        (2.5, b"2.5"),
        (True, b"true"),
        (Point(1, 2), b'{"x":1,"y":2}'),
        ({"when": dt.date(2024, 1, 2)}, b'{"when":"2024-01-02"}'),
        ({"id": uuid.UUID(int=1)}, b'{"id":"00000000-0000-0000-0000-000000000001"}'),
        ({"c": Color.RED, "s": {1}}, b'{"c":"red","s":[1]}'),
        ({"d": Decimal("1.5"), "i": Decimal("2")}, b'{"d":1.5,"i":2}'),
        ({uuid.UUID(int=2): 1}, b'{"00000000-0000-0000-0000-000000000002":1}'),
        ({"t": (1, 2)}, b'{"t":[1,2]}'),
    ],
    ids=[
        "dict",
        "list",
        "none",
        "str",
        "int",
        "float",
        "bool",
        "dataclass",
        "date",
        "uuid",
        "enum-set",
        "decimal",
        "uuid-key",
        "tuple",
    ],
)
def test_return_values_become_json(value: Any, body: bytes) -> None:
    app = GoFastAPI()
    app.get("/v")(lambda: value)
    response = TestClient(app).get("/v")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == body


def test_status_code_from_decorator_and_no_body_statuses(
    app: GoFastAPI, client: TestClient
) -> None:
    app.post("/created", status_code=201)(lambda: {"ok": True})
    app.delete("/gone", status_code=204)(lambda: None)
    created = client.post("/created")
    assert (created.status_code, created.json()) == (201, {"ok": True})
    gone = client.delete("/gone")
    assert (gone.status_code, gone.content) == (204, b"")
    assert "content-type" not in gone.headers


@pytest.mark.parametrize(
    ("response", "content_type", "body"),
    [
        (PlainTextResponse("hi"), "text/plain; charset=utf-8", b"hi"),
        (HTMLResponse("<b>x</b>"), "text/html; charset=utf-8", b"<b>x</b>"),
        (JSONResponse({"é": 1}), "application/json", '{"é":1}'.encode()),
        (
            Response(b"\x00\x01", media_type="application/octet-stream"),
            "application/octet-stream",
            b"\x00\x01",
        ),
        (Response("text", media_type="text/csv"), "text/csv; charset=utf-8", b"text"),
    ],
    ids=["plain", "html", "json", "bytes", "csv"],
)
def test_response_classes(response: Response, content_type: str, body: bytes) -> None:
    app = GoFastAPI()
    app.get("/r")(lambda: response)
    result = TestClient(app).get("/r")
    assert result.headers["content-type"] == content_type
    assert result.content == body


def test_response_class_option(app: GoFastAPI, client: TestClient) -> None:
    app.get("/page", response_class=HTMLResponse)(lambda: "<h1>hi</h1>")
    app.get("/text", response_class=PlainTextResponse, status_code=202)(lambda: "plain")
    page = client.get("/page")
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.text == "<h1>hi</h1>"
    text = client.get("/text")
    assert (text.status_code, text.text) == (202, "plain")


def test_redirect(app: GoFastAPI, client: TestClient) -> None:
    app.get("/old")(lambda: RedirectResponse("/new?x=a b"))
    app.get("/new")(lambda x: {"x": x})
    first = client.get("/old", follow_redirects=False)
    assert first.status_code == 307
    assert first.headers["location"] == "/new?x=a%20b"
    assert client.get("/old").json() == {"x": "a b"}


def test_cookies_set_and_delete(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/login")
    def login() -> Response:
        response = JSONResponse({"ok": True})
        response.set_cookie(
            "session",
            "abc",
            max_age=60,
            httponly=True,
            secure=True,
            samesite="strict",
            domain="example.com",
        )
        response.set_cookie("plain", "1")
        return response

    @app.get("/logout")
    def logout() -> Response:
        response = Response()
        response.delete_cookie("session")
        return response

    @app.get("/whoami")
    def whoami(session: str | None = None) -> Any:
        return None

    result = client.get("/login")
    cookies = result.headers.getlist("set-cookie")
    assert (
        cookies[0]
        == "session=abc; Domain=example.com; HttpOnly; Max-Age=60; Path=/; SameSite=strict; Secure"
    )
    assert cookies[1] == "plain=1; Path=/; SameSite=lax"
    assert client.cookies == {"session": "abc", "plain": "1"}
    deleted = client.get("/logout").headers["set-cookie"]
    assert deleted.startswith('session=""; expires=')
    assert "Max-Age=0" in deleted
    assert client.cookies == {"plain": "1"}


def test_cookie_with_bad_samesite_is_an_error() -> None:
    with pytest.raises(ValueError, match="samesite"):
        Response().set_cookie("a", "b", samesite="sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("x-evil", "a\r\nset-cookie: owned=1"),
        ("x-evil", "a\nb"),
        ("x-evil", "a\x00b"),
        ("bad name", "v"),
        ("x-evil:", "v"),
        ("x-uni", "snow ☃"),
    ],
    ids=["crlf", "lf", "nul", "space-in-name", "colon-in-name", "not-latin1"],
)
def test_invalid_headers_become_500(name: str, value: str) -> None:
    app = GoFastAPI()

    @app.get("/h")
    def h() -> Response:
        response = PlainTextResponse("x")
        response.headers[name] = value
        return response

    result = TestClient(app, raise_server_exceptions=False).get("/h")
    assert result.status_code == 500
    assert result.json() == {"detail": "Internal Server Error"}
    assert "owned" not in result.headers.get("set-cookie", "")


def test_invalid_header_through_sub_response(app: GoFastAPI) -> None:
    @app.get("/s")
    def s(response: Response) -> dict[str, str]:
        response.headers["x-a"] = "1\r\n2"
        return {}

    assert TestClient(app, raise_server_exceptions=False).get("/s").status_code == 500


def test_framing_headers_are_left_to_go(app: GoFastAPI, client: TestClient) -> None:
    app.get("/f")(
        lambda: Response(
            "abc", headers={"content-length": "999", "transfer-encoding": "chunked"}
        )
    )
    result = client.get("/f")
    assert result.headers["content-length"] == "3"
    assert "transfer-encoding" not in result.headers


def test_invalid_status_becomes_500(app: GoFastAPI) -> None:
    app.get("/s")(lambda: Response("x", status_code=700))
    assert TestClient(app, raise_server_exceptions=False).get("/s").status_code == 500


@pytest.mark.parametrize(
    "value",
    [float("nan"), {"x": float("inf")}, object()],
    ids=["nan", "inf", "object"],
)
def test_unserializable_results_are_500(value: Any) -> None:
    app = GoFastAPI()
    app.get("/n")(lambda: value)
    result = TestClient(app, raise_server_exceptions=False).get("/n")
    assert result.status_code == 500


def test_response_model_filters_dataclass_fields(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.get("/user", response_model=PublicUser)
    def user() -> Any:
        return PrivateUser(name="a", email="a@x", password="secret")

    @app.get("/user-dict", response_model=PublicUser)
    def user_dict() -> Any:
        return {"name": "b", "password": "secret"}

    @app.get("/annotated")
    def annotated() -> PublicUser:
        return PrivateUser(name="c", email="c@x", password="secret")  # type: ignore[return-value]

    @app.get("/many", response_model=list[PublicUser])
    def many() -> Any:
        return [PrivateUser("d", "d@x", "s"), {"name": "e"}]

    @app.get("/disabled", response_model=None)
    def disabled() -> PublicUser:
        return PrivateUser(name="f", email="f@x", password="visible")  # type: ignore[return-value]

    assert client.get("/user").json() == {"name": "a", "email": "a@x"}
    assert client.get("/user-dict").json() == {"name": "b", "email": None}
    assert client.get("/annotated").json() == {"name": "c", "email": "c@x"}
    assert client.get("/many").json() == [
        {"name": "d", "email": "d@x"},
        {"name": "e", "email": None},
    ]
    assert client.get("/disabled").json()["password"] == "visible"


def test_response_model_validation_failure_is_500(app: GoFastAPI) -> None:
    app.get("/bad", response_model=PublicUser)(lambda: {"email": "x"})
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/bad").status_code == 500
    from gofastapi import ResponseValidationError

    with pytest.raises(ResponseValidationError):
        TestClient(app).get("/bad")


def test_mutable_headers_api() -> None:
    response = Response("x", headers={"X-A": "1"})
    response.headers.append("x-a", "2")
    assert response.headers.getlist("X-A") == ["1", "2"]
    response.headers["x-a"] = "3"
    assert response.headers.getlist("x-a") == ["3"]
    del response.headers["X-A"]
    assert "x-a" not in response.headers
    assert response.headers.setdefault("x-b", "4") == "4"
