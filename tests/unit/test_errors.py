"""HTTPException, exception handlers and the 500 path (logging, debug tracebacks, BaseException)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from gofastapi import (
    GoFastAPI,
    HTTPException,
    JSONResponse,
    PlainTextResponse,
    Request,
    RequestValidationError,
)
from gofastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("exc", "status", "body"),
    [
        (HTTPException(404), 404, {"detail": "Not Found"}),
        (HTTPException(400, "bad thing"), 400, {"detail": "bad thing"}),
        (
            HTTPException(409, {"code": 7, "why": ["x"]}),
            409,
            {"detail": {"code": 7, "why": ["x"]}},
        ),
        (HTTPException(418), 418, {"detail": "I'm a Teapot"}),
    ],
    ids=["default-detail", "str-detail", "object-detail", "teapot"],
)
def test_http_exception(exc: HTTPException, status: int, body: dict[str, Any]) -> None:
    app = GoFastAPI()

    @app.get("/e")
    def e() -> None:
        raise exc

    response = TestClient(app).get("/e")
    assert response.status_code == status
    assert response.json() == body


def test_http_exception_headers_and_no_body_status(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.get("/auth")
    def auth() -> None:
        raise HTTPException(401, "no", headers={"WWW-Authenticate": "Bearer"})

    @app.get("/same")
    def same() -> None:
        raise HTTPException(304)

    response = client.get("/auth")
    assert response.headers["www-authenticate"] == "Bearer"
    not_modified = client.get("/same")
    assert (not_modified.status_code, not_modified.content) == (304, b"")


def test_unhandled_exception_is_logged_500(
    app: GoFastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise ZeroDivisionError("secret detail")

    client = TestClient(app, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="gofastapi.error"):
        response = client.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    assert "secret" not in response.text
    [record] = [r for r in caplog.records if r.name == "gofastapi.error"]
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    assert getattr(record, "request_id", "")
    assert record.route == "boom"  # type: ignore[attr-defined]


def test_testclient_reraises_server_errors_by_default(
    app: GoFastAPI, client: TestClient
) -> None:
    app.get("/boom")(lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        client.get("/boom")


def test_debug_adds_traceback() -> None:
    app = GoFastAPI(debug=True)

    @app.get("/boom")
    def boom() -> None:
        raise KeyError("k")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    body = response.json()
    assert response.status_code == 500
    assert body["detail"] == "Internal Server Error"
    assert "KeyError" in body["traceback"]
    assert "def boom" in body["traceback"] or "boom" in body["traceback"]


@pytest.mark.parametrize(
    "exc",
    [SystemExit(3), KeyboardInterrupt(), GeneratorExit()],
    ids=["SystemExit", "KeyboardInterrupt", "GeneratorExit"],
)
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_base_exceptions_become_500(exc: BaseException, is_async: bool) -> None:
    app = GoFastAPI()
    if is_async:

        @app.get("/x")
        async def handler() -> None:
            raise exc
    else:

        @app.get("/x")
        def handler() -> None:
            raise exc

    response = TestClient(app, raise_server_exceptions=False).get("/x")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    app.get("/after")(lambda: "still serving")
    assert TestClient(app).get("/after").json() == "still serving"


def test_exception_handler_by_class_uses_mro(
    app: GoFastAPI, client: TestClient
) -> None:
    class AppError(Exception):
        pass

    class NotEnough(AppError):
        pass

    @app.exception_handler(AppError)
    def handle(request: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            {"error": type(exc).__name__, "path": request.url.path}, status_code=418
        )

    @app.get("/x")
    def x() -> None:
        raise NotEnough()

    response = client.get("/x")
    assert response.status_code == 418
    assert response.json() == {"error": "NotEnough", "path": "/x"}


def test_exception_handler_by_status_and_async(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.exception_handler(404)
    async def not_found(request: Request, exc: HTTPException) -> PlainTextResponse:
        return PlainTextResponse(f"nothing at {request.url.path}", status_code=404)

    @app.get("/thing/{n}")
    def thing(n: int) -> int:
        if n > 1:
            raise HTTPException(404)
        raise HTTPException(403)

    assert client.get("/thing/2").text == "nothing at /thing/2"
    assert client.get("/thing/1").json() == {"detail": "Forbidden"}


def test_override_validation_handler(app: GoFastAPI, client: TestClient) -> None:
    @app.exception_handler(RequestValidationError)
    def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"errors": len(exc.errors())}, status_code=400)

    app.get("/v")(lambda q=0: q)
    app.routes.clear()

    @app.get("/v")
    def v(q: int) -> int:
        return q

    assert client.get("/v?q=x").json() == {"errors": 1}
    assert client.get("/v?q=x").status_code == 400


def test_override_http_exception_handler_and_500_handler(app: GoFastAPI) -> None:
    @app.exception_handler(HTTPException)
    def http(request: Request, exc: HTTPException) -> PlainTextResponse:
        return PlainTextResponse(str(exc.detail), status_code=exc.status_code)

    @app.exception_handler(Exception)
    def anything(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"oops": str(exc)}, status_code=503)

    @app.get("/h")
    def h() -> None:
        raise HTTPException(400, "plain")

    @app.get("/e")
    def e() -> None:
        raise RuntimeError("down")

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/h").text == "plain"
    response = client.get("/e")
    assert (response.status_code, response.json()) == (503, {"oops": "down"})


def test_failing_exception_handler_is_500(app: GoFastAPI) -> None:
    @app.exception_handler(ValueError)
    def broken(request: Request, exc: ValueError) -> JSONResponse:
        raise RuntimeError("handler broke")

    @app.exception_handler(KeyError)
    def wrong_type(request: Request, exc: KeyError) -> Any:
        return {"not": "a response"}

    app.get("/v")(lambda: int("x"))
    app.get("/k")(lambda: {}["k"])
    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/v").status_code == 500
    assert client.get("/k").status_code == 500


def test_exception_handler_keys_are_checked(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match="exception class or a status code"):
        app.add_exception_handler("ValueError", lambda r, e: None)  # type: ignore[arg-type]


def test_validation_error_body_is_json_even_for_odd_inputs(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.post("/b")
    def b(values: dict[str, int]) -> None:
        return None

    response = client.post("/b", json={"a": [1, {"b": None}]})
    assert response.status_code == 422
    assert json.loads(response.content)["detail"][0]["input"] == [1, {"b": None}]
