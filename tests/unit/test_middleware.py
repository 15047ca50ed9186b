"""HTTP middleware: async and sync, ordering, short-circuits and errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from gofastapi import GoFastAPI, HTTPException, JSONResponse, Request, Response
from gofastapi.testclient import TestClient


def test_async_middleware_wraps_handler(app: GoFastAPI, client: TestClient) -> None:
    order: list[str] = []

    @app.middleware("http")
    async def first(request: Request, call_next: Callable[[Request], Any]) -> Response:
        order.append("first-in")
        response = await call_next(request)
        response.headers["x-first"] = "1"
        order.append("first-out")
        return response

    @app.middleware("request")  # the seed's spelling
    async def second(request: Request, call_next: Callable[[Request], Any]) -> Response:
        order.append("second-in")
        request.state.user = "bob"
        response = await call_next(request)
        order.append("second-out")
        return response

    @app.get("/m")
    def m(request: Request) -> dict[str, str]:
        order.append("handler")
        return {"user": request.state.user}

    response = client.get("/m")
    assert response.json() == {"user": "bob"}
    assert response.headers["x-first"] == "1"
    assert order == ["second-in", "first-in", "handler", "first-out", "second-out"]


def test_sync_middleware_with_async_handler(app: GoFastAPI, client: TestClient) -> None:
    @app.middleware("http")
    def timing(request: Request, call_next: Callable[[Request], Response]) -> Response:
        response = call_next(request)
        response.headers["x-sync"] = "yes"
        return response

    @app.get("/a")
    async def a() -> dict[str, bool]:
        await asyncio.sleep(0.001)
        return {"async": True}

    response = client.get("/a")
    assert response.json() == {"async": True}
    assert response.headers["x-sync"] == "yes"


def test_middleware_short_circuit(app: GoFastAPI, client: TestClient) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Any]) -> Response:
        if request.headers.get("x-block"):
            return JSONResponse({"blocked": True}, status_code=403)
        return await call_next(request)

    app.get("/g")(lambda: "open")
    assert client.get("/g").json() == "open"
    blocked = client.get("/g", headers={"x-block": "1"})
    assert (blocked.status_code, blocked.json()) == (403, {"blocked": True})


def test_handled_errors_reach_middleware_as_responses(
    app: GoFastAPI, client: TestClient
) -> None:
    seen: list[int] = []

    @app.middleware("http")
    async def record(request: Request, call_next: Callable[[Request], Any]) -> Response:
        response = await call_next(request)
        seen.append(response.status_code)
        return response

    @app.get("/e")
    def e() -> None:
        raise HTTPException(404, "nope")

    app.get("/v")(lambda n=0: n)
    app.routes.clear()
    app.get("/e")(e)

    @app.get("/v")
    def v(n: int) -> int:
        return n

    assert client.get("/e").status_code == 404
    assert client.get("/v?n=x").status_code == 422
    assert seen == [404, 422]


def test_unhandled_errors_propagate_through_middleware(app: GoFastAPI) -> None:
    caught: list[str] = []

    @app.middleware("http")
    async def catcher(
        request: Request, call_next: Callable[[Request], Any]
    ) -> Response:
        try:
            return await call_next(request)
        except RuntimeError as exc:
            caught.append(str(exc))
            raise

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("kaput")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert caught == ["kaput"]


@pytest.mark.parametrize("bad", [None, {"a": 1}], ids=["none", "dict"])
def test_middleware_must_return_response(bad: Any) -> None:
    app = GoFastAPI()

    @app.middleware("http")
    async def wrong(request: Request, call_next: Callable[[Request], Any]) -> Any:
        await call_next(request)
        return bad

    app.get("/x")(lambda: 1)
    assert TestClient(app, raise_server_exceptions=False).get("/x").status_code == 500


def test_middleware_exception_is_500(app: GoFastAPI) -> None:
    @app.middleware("http")
    def broken(request: Request, call_next: Callable[[Request], Response]) -> Response:
        raise HTTPException(400)

    app.get("/x")(lambda: 1)
    assert TestClient(app, raise_server_exceptions=False).get("/x").status_code == 500


def test_middleware_type_is_checked(app: GoFastAPI) -> None:
    with pytest.raises(ValueError, match="middleware type"):
        app.middleware("websocket")


def test_seed_security_middleware_example(
    app: GoFastAPI, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    security_logger = logging.getLogger("gofastapi.security")

    @app.middleware("request")
    async def security_middleware(
        request: Request, call_next: Callable[[Request], Any]
    ) -> Response:
        if len(request.url.query) > 10:
            security_logger.warning(
                "Suspicious long query string",
                extra={
                    "ip": request.client.host,
                    "query_length": len(request.url.query),
                },
            )
        response = await call_next(request)
        return response

    app.get("/s")(lambda: "ok")
    with caplog.at_level(logging.WARNING, logger="gofastapi.security"):
        assert client.get("/s?" + "x" * 20).json() == "ok"
    [record] = caplog.records
    assert record.ip == "testclient"  # type: ignore[attr-defined]
    assert record.query_length == 20  # type: ignore[attr-defined]
