"""Path templates, Go patterns, conflicts, routers and Go-like matching."""

from __future__ import annotations

import pytest

from gofastapi import APIRouter, Depends, GoFastAPI
from gofastapi.routing import compile_path
from gofastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "go_pattern", "names"),
    [
        ("/", "/{$}", ()),
        ("/hello", "/hello", ()),
        ("/items/", "/items/{$}", ()),
        ("/items/{item_id}", "/items/{item_id}", ("item_id",)),
        (
            "/users/{user_id}/items/{item_id}",
            "/users/{user_id}/items/{item_id}",
            ("user_id", "item_id"),
        ),
        ("/files/{file_path:path}", "/files/{file_path...}", ("file_path",)),
        ("/s/{name:str}", "/s/{name}", ("name",)),
    ],
    ids=[
        "root",
        "literal",
        "trailing-slash",
        "param",
        "two-params",
        "catch-all",
        "str-convertor",
    ],
)
def test_compile_path(path: str, go_pattern: str, names: tuple[str, ...]) -> None:
    compiled = compile_path(path)
    assert compiled.go_pattern == go_pattern
    assert compiled.param_names == names


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/files/{name}.json", "mixes text and a parameter"),
        ("/a/{rest:path}/b", "must be the last segment"),
        ("items", "must start with '/'"),
        ("/a//b", "empty path segment"),
        ("/a/{x}/{x}", "appears twice"),
        ("/a/{x:int}", "unsupported convertor"),
        ("/a b", "whitespace"),
        ("/a/{1x}", "not a valid parameter name"),
    ],
    ids=[
        "mixed-segment",
        "catch-all-not-last",
        "no-slash",
        "empty-segment",
        "duplicate-name",
        "int-convertor",
        "space",
        "bad-name",
    ],
)
def test_bad_templates_fail_at_decoration(path: str, message: str) -> None:
    app = GoFastAPI()
    with pytest.raises(ValueError, match=message):

        @app.get(path)
        def handler() -> None: ...


def test_mixed_segment_error_names_the_route() -> None:
    app = GoFastAPI()
    with pytest.raises(ValueError, match=r"GET /files/\{name\}\.json"):

        @app.get("/files/{name}.json")
        def handler(name: str) -> None: ...


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("GET", "/a"), ("GET", "/a")),
        (("GET", "/a/{x}"), ("GET", "/a/{y}")),
        (("GET", "/a/{x}/b"), ("GET", "/a/c/{y}")),
        (("POST", "/f/{p:path}"), ("POST", "/f/{q:path}")),
    ],
    ids=["same-literal", "same-shape", "overlapping", "same-catch-all"],
)
def test_duplicate_or_conflicting_routes_fail(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    app = GoFastAPI()
    app.api_route(first[1], methods=[first[0]])(lambda: None)
    with pytest.raises(ValueError, match=r"duplicate route|conflicts with"):
        app.api_route(second[1], methods=[second[0]])(lambda: None)


def test_non_conflicting_routes_are_fine() -> None:
    app = GoFastAPI()
    app.get("/a/{x}")(lambda x: x)
    app.get("/a/b")(lambda: "b")
    app.post("/a/{x}")(lambda x: x)
    app.head("/h/{x}")(lambda x: x)
    app.get("/f/{p:path}")(lambda p: p)
    app.get("/f/special")(lambda: "special")
    assert len(app.routes) == 6


def test_head_and_get_overlap_like_servemux() -> None:
    app = GoFastAPI()
    app.get("/a/b")(lambda: None)
    with pytest.raises(ValueError, match="conflicts with"):
        app.head("/a/{x}")(lambda x: x)


def test_routes_frozen_after_freeze(app: GoFastAPI) -> None:
    app.freeze()
    with pytest.raises(RuntimeError, match="frozen"):

        @app.get("/late")
        def late() -> None: ...

    with pytest.raises(RuntimeError, match="frozen"):
        app.middleware("http")(lambda request, call_next: call_next(request))


def test_specific_route_wins_like_servemux(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/items/{item_id}")
    def by_id(item_id: str) -> dict[str, str]:
        return {"route": "by_id", "item_id": item_id}

    @app.get("/items/latest")
    def latest() -> dict[str, str]:
        return {"route": "latest"}

    @app.get("/files/{p:path}")
    def files(p: str) -> dict[str, str]:
        return {"p": p}

    assert client.get("/items/latest").json() == {"route": "latest"}
    assert client.get("/items/42").json() == {"route": "by_id", "item_id": "42"}
    assert client.get("/files/a/b/c.txt").json() == {"p": "a/b/c.txt"}
    assert client.get("/files/a%2Fb").json() == {"p": "a/b"}
    assert client.get("/items/a%20b").json()["item_id"] == "a b"


def test_404_405_and_head(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/things")
    def things() -> list[int]:
        return [1, 2]

    @app.delete("/things")
    def drop() -> None:
        return None

    missing = client.get("/nothing")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
    wrong = client.post("/things")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}
    assert wrong.headers["allow"] == "DELETE, GET, HEAD"
    head = client.head("/things")
    assert head.status_code == 200
    assert head.content == b""
    assert client.get("/things/").status_code == 404


def test_trailing_slash_is_exact(app: GoFastAPI, client: TestClient) -> None:
    app.get("/dir/")(lambda: "dir")
    assert client.get("/dir/").json() == "dir"
    assert client.get("/dir/x").status_code == 404


def test_router_prefix_tags_and_dependencies() -> None:
    calls: list[str] = []

    def app_dep() -> None:
        calls.append("app")

    def include_dep() -> None:
        calls.append("include")

    def router_dep() -> None:
        calls.append("router")

    def route_dep() -> None:
        calls.append("route")

    app = GoFastAPI(dependencies=[Depends(app_dep)])
    inner = APIRouter(
        prefix="/inner", tags=["inner"], dependencies=[Depends(router_dep)]
    )

    @inner.get("/{item_id}", tags=["item"], dependencies=[Depends(route_dep)])
    def read(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    outer = APIRouter(prefix="/outer", tags=["outer"])
    outer.include_router(inner, prefix="/v1")
    app.include_router(
        outer, prefix="/api", tags=["api"], dependencies=[Depends(include_dep)]
    )

    route = app.routes[0]
    assert route.path == "/api/outer/v1/inner/{item_id}"
    assert route.go_pattern == "/api/outer/v1/inner/{item_id}"
    assert route.tags == ["api", "outer", "inner", "item"]
    client = TestClient(app)
    assert client.get("/api/outer/v1/inner/7").json() == {"item_id": 7}
    assert calls == ["app", "include", "router", "route"]


def test_router_can_be_included_twice_with_prefixes(
    app: GoFastAPI, client: TestClient
) -> None:
    router = APIRouter()

    @router.get("/ping")
    def ping() -> str:
        return "pong"

    app.include_router(router, prefix="/v1")
    app.include_router(router, prefix="/v2")
    assert client.get("/v1/ping").json() == "pong"
    assert client.get("/v2/ping").json() == "pong"
    with pytest.raises(ValueError, match="duplicate route"):
        app.include_router(router, prefix="/v1")


@pytest.mark.parametrize(
    "decorator",
    ["get", "post", "put", "patch", "delete", "options"],
    ids=str,
)
def test_method_decorators(app: GoFastAPI, client: TestClient, decorator: str) -> None:
    getattr(app, decorator)("/m")(lambda: {"ok": decorator})
    assert app.routes[0].methods == (decorator.upper(),)
    response = client.request(decorator.upper(), "/m")
    assert response.status_code == 200
    assert response.json() == {"ok": decorator}


def test_api_route_multiple_methods(app: GoFastAPI, client: TestClient) -> None:
    @app.api_route("/multi", methods=["get", "POST"])
    def multi(request_method: str = "x") -> str:
        return request_method

    assert app.routes[0].methods == ("GET", "POST")
    assert client.post("/multi").json() == "x"
    assert client.get("/multi").json() == "x"


def test_route_options_are_validated() -> None:
    app = GoFastAPI()
    with pytest.raises(ValueError, match="rate_limit"):
        app.get("/x", rate_limit="lots")(lambda: None)
    with pytest.raises(ValueError, match="max_request_size"):
        app.get("/y", max_request_size="10 parsecs")(lambda: None)
    with pytest.raises(ValueError, match="timeout"):
        app.get("/z", timeout=-1)(lambda: None)
    with pytest.raises(ValueError, match="status_code"):
        app.get("/w", status_code=99)(lambda: None)


def test_generator_handler_is_refused(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match="generator"):

        @app.get("/gen")
        def gen():  # type: ignore[no-untyped-def]
            yield 1
