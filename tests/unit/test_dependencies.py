"""Dependencies: nesting, caching, async, generator teardown, Request and Response parameters."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any

import pytest

from gofastapi import Depends, GoFastAPI, Header, HTTPException, Request, Response
from gofastapi.testclient import TestClient


def test_nested_dependencies_and_cache(app: GoFastAPI, client: TestClient) -> None:
    calls: list[str] = []

    def settings() -> dict[str, int]:
        calls.append("settings")
        return {"page_size": 10}

    def pagination(
        page: int = 1, cfg: dict[str, int] = Depends(settings)
    ) -> dict[str, int]:
        calls.append("pagination")
        return {"page": page, "size": cfg["page_size"]}

    def fresh() -> int:
        calls.append("fresh")
        return len(calls)

    @app.get("/list")
    def listing(
        pg: Annotated[dict[str, int], Depends(pagination)],
        cfg: dict[str, int] = Depends(settings),
        a: int = Depends(fresh, use_cache=False),
        b: int = Depends(fresh, use_cache=False),
    ) -> dict[str, Any]:
        return {"pg": pg, "cfg": cfg, "a": a, "b": b}

    body = client.get("/list?page=3").json()
    assert body["pg"] == {"page": 3, "size": 10}
    assert calls.count("settings") == 1
    assert calls.count("fresh") == 2
    assert body["a"] != body["b"]


def test_dependency_params_errors_skip_the_dependency(
    app: GoFastAPI, client: TestClient
) -> None:
    called = []

    def needs_token(x_token: str = Header()) -> str:
        called.append(x_token)
        return x_token

    @app.get("/secure")
    def secure(token: str = Depends(needs_token), q: int = 0) -> str:
        return token

    response = client.get("/secure?q=x")
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [
        ["header", "x-token"],
        ["query", "q"],
    ]
    assert called == []
    assert client.get("/secure", headers={"x-token": "t"}).json() == "t"


def test_dependency_raising_http_exception(app: GoFastAPI, client: TestClient) -> None:
    def auth(authorization: str | None = Header(None)) -> str:
        if authorization != "Bearer good":
            raise HTTPException(
                401, "Not authenticated", headers={"WWW-Authenticate": "Bearer"}
            )
        return "alice"

    @app.get("/me")
    def me(user: str = Depends(auth)) -> dict[str, str]:
        return {"user": user}

    denied = client.get("/me")
    assert denied.status_code == 401
    assert denied.json() == {"detail": "Not authenticated"}
    assert denied.headers["www-authenticate"] == "Bearer"
    assert client.get("/me", headers={"Authorization": "Bearer good"}).json() == {
        "user": "alice"
    }


def test_class_and_callable_instance_dependencies(
    app: GoFastAPI, client: TestClient
) -> None:
    class Paging:
        def __init__(self, skip: int = 0, limit: int = 10) -> None:
            self.skip = skip
            self.limit = limit

    class Prefixer:
        def __init__(self, prefix: str) -> None:
            self.prefix = prefix

        def __call__(self, name: str = "x") -> str:
            return self.prefix + name

    @app.get("/c")
    def c(
        paging: Annotated[Paging, Depends()], named: str = Depends(Prefixer("hi-"))
    ) -> dict[str, Any]:
        return {"skip": paging.skip, "limit": paging.limit, "named": named}

    assert client.get("/c?skip=2&name=bob").json() == {
        "skip": 2,
        "limit": 10,
        "named": "hi-bob",
    }


def test_async_dependencies_and_handler(app: GoFastAPI, client: TestClient) -> None:
    async def db() -> str:
        await asyncio.sleep(0)
        return "db"

    def sync_dep(conn: str = Depends(db)) -> str:
        return conn + "+sync"

    @app.get("/a")
    async def a(value: str = Depends(sync_dep)) -> dict[str, str]:
        await asyncio.sleep(0.001)
        return {"value": value}

    @app.get("/b")
    def b(value: str = Depends(db)) -> str:
        return value

    assert client.get("/a").json() == {"value": "db+sync"}
    assert client.get("/b").json() == "db"


def test_generator_dependency_teardown_after_response(app: GoFastAPI) -> None:
    events: list[str] = []

    def session() -> Iterator[str]:
        events.append("open")
        try:
            yield "session"
        except ValueError as exc:
            events.append(f"rollback:{exc}")
            raise
        else:
            events.append("commit")
        finally:
            events.append("close")

    async def async_resource() -> AsyncIterator[str]:
        events.append("a-open")
        try:
            yield "res"
        finally:
            events.append("a-close")

    class Marker:
        def __init__(self) -> None:
            events.append("serialize")

    @app.get("/ok")
    def ok(s: str = Depends(session)) -> Any:
        events.append("handler")
        return {"s": s}

    @app.get("/boom")
    def boom(s: str = Depends(session)) -> None:
        raise ValueError("bad")

    @app.get("/http")
    def http(s: str = Depends(session)) -> None:
        raise HTTPException(409, "conflict")

    @app.get("/async")
    async def asynchronous(
        s: str = Depends(session), r: str = Depends(async_resource)
    ) -> str:
        return s + r

    client = TestClient(app, raise_server_exceptions=False)
    assert client.get("/ok").json() == {"s": "session"}
    assert events == ["open", "handler", "commit", "close"]
    events.clear()
    assert client.get("/boom").status_code == 500
    assert events == ["open", "rollback:bad", "close"]
    events.clear()
    response = client.get("/http")
    assert (response.status_code, response.json()) == (409, {"detail": "conflict"})
    assert events == ["open", "close"]
    events.clear()
    assert client.get("/async").json() == "sessionres"
    assert events == ["open", "a-open", "a-close", "commit", "close"]


def test_generator_teardown_runs_after_serialization(app: GoFastAPI) -> None:
    events: list[str] = []

    class Payload:
        def __iter__(self) -> Iterator[int]:
            events.append("serialized")
            return iter([1])

    def dep() -> Iterator[None]:
        yield
        events.append("teardown")

    @app.get("/p")
    def p(_: None = Depends(dep)) -> Any:
        return Payload()

    assert TestClient(app).get("/p").json() == [1]
    assert events == ["serialized", "teardown"]


def test_error_in_teardown_becomes_the_response(app: GoFastAPI) -> None:
    def dep() -> Iterator[None]:
        yield
        raise HTTPException(418, "teapot")

    app.get("/t")(lambda _=Depends(dep): "ok")
    response = TestClient(app).get("/t")
    assert (response.status_code, response.json()) == (418, {"detail": "teapot"})


def test_request_and_response_parameters(app: GoFastAPI, client: TestClient) -> None:
    def track(request: Request, response: Response) -> str:
        response.headers["x-tracked"] = "1"
        return request.method

    @app.get("/r")
    def r(
        request: Request, response: Response, method: str = Depends(track)
    ) -> dict[str, Any]:
        response.set_cookie("seen", "yes")
        response.status_code = 202
        return {"method": method, "path": request.url.path}

    result = client.get("/r")
    assert result.status_code == 202
    assert result.json() == {"method": "GET", "path": "/r"}
    assert result.headers["x-tracked"] == "1"
    assert result.cookies == {"seen": "yes"}


def test_sub_response_ignored_when_handler_returns_response(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.get("/direct")
    def direct(response: Response) -> Response:
        response.headers["x-lost"] = "1"
        return Response("raw", media_type="text/plain")

    result = client.get("/direct")
    assert result.text == "raw"
    assert "x-lost" not in result.headers


def test_decorator_dependencies_run_but_are_not_passed(
    app: GoFastAPI, client: TestClient
) -> None:
    seen: list[str] = []

    def verify(x_key: str = Header()) -> None:
        seen.append(x_key)

    app.get("/v", dependencies=[Depends(verify)])(lambda: "ok")
    assert client.get("/v").status_code == 422
    assert client.get("/v", headers={"x-key": "k"}).json() == "ok"
    assert seen == ["k"]


def test_bad_dependency_fails_at_decoration(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match="dependencies must be Depends"):
        app.get("/x", dependencies=["nope"])(lambda: None)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="needs a callable"):

        @app.get("/y")
        def y(v: Any = Depends()) -> None:
            return None
