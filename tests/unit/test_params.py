"""Path, query, header and cookie parameters: sources, types, constraints and error shapes."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Annotated, Any, List, Literal, Optional  # noqa: UP035

import pytest

from gofastapi import Cookie, GoFastAPI, Header, Path, Query
from gofastapi.testclient import TestClient


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def make_app(annotation: Any, default: Any = ...) -> TestClient:
    app = GoFastAPI()
    if default is ...:

        def handler(v):  # type: ignore[no-untyped-def]
            return {"v": v}
    else:

        def handler(v=default):  # type: ignore[no-untyped-def]
            return {"v": v}

    handler.__annotations__ = {"v": annotation}
    app.get("/q")(handler)
    return TestClient(app)


@pytest.mark.parametrize(
    ("annotation", "raw", "expected"),
    [
        (str, "abc", "abc"),
        (int, "42", 42),
        (int, "-7", -7),
        (int, " 8 ", 8),
        (float, "1.5", 1.5),
        (float, "3", 3.0),
        (bool, "true", True),
        (bool, "FALSE", False),
        (bool, "1", True),
        (bool, "0", False),
        (bool, "on", True),
        (bool, "off", False),
        (bool, "Yes", True),
        (bool, "no", False),
        (
            uuid.UUID,
            "12345678-1234-5678-1234-567812345678",
            "12345678-1234-5678-1234-567812345678",
        ),
        (Color, "red", "red"),
        (Level, "2", 2),
        (Literal["a", "b"], "b", "b"),
        (Literal[1, 2], "2", 2),
        (Optional[int], "5", 5),  # noqa: UP045
        (int | None, "5", 5),
        (dt.date, "2024-02-29", "2024-02-29"),
        (dt.datetime, "2024-01-02T03:04:05Z", "2024-01-02T03:04:05+00:00"),
        (Decimal, "1.25", 1.25),
        (Decimal, "10", 10),
    ],
    ids=lambda v: repr(v)[:40],
)
def test_query_conversion(annotation: Any, raw: str, expected: Any) -> None:
    client = make_app(annotation)
    response = client.get("/q", params={"v": raw})
    assert response.status_code == 200, response.text
    assert response.json() == {"v": expected}


@pytest.mark.parametrize(
    ("annotation", "raw", "error"),
    [
        (
            int,
            "x",
            {
                "type": "int_parsing",
                "msg": "Input should be a valid integer, unable to parse string as an integer",
            },
        ),
        (
            int,
            "1.5",
            {
                "type": "int_parsing",
                "msg": "Input should be a valid integer, unable to parse string as an integer",
            },
        ),
        (
            float,
            "abc",
            {
                "type": "float_parsing",
                "msg": "Input should be a valid number, unable to parse string as a number",
            },
        ),
        (
            bool,
            "maybe",
            {
                "type": "bool_parsing",
                "msg": "Input should be a valid boolean, unable to interpret input",
            },
        ),
        (uuid.UUID, "nope", {"type": "uuid_parsing"}),
        (
            Color,
            "blue",
            {
                "type": "enum",
                "msg": "Input should be 'red' or 'green'",
                "ctx": {"expected": "'red' or 'green'"},
            },
        ),
        (
            Literal["a", "b", "c"],
            "d",
            {"type": "literal_error", "msg": "Input should be 'a', 'b' or 'c'"},
        ),
        (dt.date, "yesterday", {"type": "date_from_datetime_parsing"}),
        (
            Decimal,
            "1.2.3",
            {"type": "decimal_parsing", "msg": "Input should be a valid decimal"},
        ),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_query_conversion_errors(
    annotation: Any, raw: str, error: dict[str, Any]
) -> None:
    client = make_app(annotation)
    response = client.get("/q", params={"v": raw})
    assert response.status_code == 422
    [got] = response.json()["detail"]
    assert got["loc"] == ["query", "v"]
    assert got["input"] == raw
    for key, value in error.items():
        assert got[key] == value


def test_missing_required_query(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/items")
    def items(q: str, page: int = 1) -> dict[str, Any]:
        return {"q": q, "page": page}

    response = client.get("/items")
    assert response.status_code == 422
    assert response.json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["query", "q"],
                "msg": "Field required",
                "input": None,
            },
        ]
    }
    assert client.get("/items?q=x").json() == {"q": "x", "page": 1}


@pytest.mark.parametrize(
    ("marker", "raw", "error"),
    [
        (
            Query(ge=1),
            "0",
            {
                "type": "greater_than_equal",
                "msg": "Input should be greater than or equal to 1",
                "ctx": {"ge": 1},
            },
        ),
        (
            Query(le=10),
            "11",
            {
                "type": "less_than_equal",
                "msg": "Input should be less than or equal to 10",
                "ctx": {"le": 10},
            },
        ),
        (
            Query(gt=0),
            "0",
            {
                "type": "greater_than",
                "msg": "Input should be greater than 0",
                "ctx": {"gt": 0},
            },
        ),
        (
            Query(lt=5),
            "5",
            {
                "type": "less_than",
                "msg": "Input should be less than 5",
                "ctx": {"lt": 5},
            },
        ),
        (
            Query(multiple_of=3),
            "4",
            {"type": "multiple_of", "msg": "Input should be a multiple of 3"},
        ),
    ],
    ids=["ge", "le", "gt", "lt", "multiple_of"],
)
def test_numeric_constraints(marker: Any, raw: str, error: dict[str, Any]) -> None:
    app = GoFastAPI()

    @app.get("/n")
    def n(v: int = marker) -> int:
        return v

    response = TestClient(app).get("/n", params={"v": raw})
    assert response.status_code == 422
    [got] = response.json()["detail"]
    assert got["loc"] == ["query", "v"]
    assert got["input"] == raw
    for key, value in error.items():
        assert got[key] == value


@pytest.mark.parametrize(
    ("marker", "raw", "error"),
    [
        (
            Query(min_length=3),
            "ab",
            {
                "type": "string_too_short",
                "msg": "String should have at least 3 characters",
                "ctx": {"min_length": 3},
            },
        ),
        (
            Query(min_length=1),
            "",
            {
                "type": "string_too_short",
                "msg": "String should have at least 1 character",
            },
        ),
        (
            Query(max_length=2),
            "abc",
            {
                "type": "string_too_long",
                "msg": "String should have at most 2 characters",
                "ctx": {"max_length": 2},
            },
        ),
        (
            Query(pattern="^a"),
            "ba",
            {
                "type": "string_pattern_mismatch",
                "msg": "String should match pattern '^a'",
                "ctx": {"pattern": "^a"},
            },
        ),
    ],
    ids=["min_length", "min_length-1", "max_length", "pattern"],
)
def test_string_constraints(marker: Any, raw: str, error: dict[str, Any]) -> None:
    app = GoFastAPI()

    @app.get("/s")
    def s(v: str = marker) -> str:
        return v

    response = TestClient(app).get("/s", params={"v": raw})
    assert response.status_code == 422
    [got] = response.json()["detail"]
    for key, value in error.items():
        assert got[key] == value


def test_regex_is_a_deprecated_alias_of_pattern() -> None:
    with pytest.warns(DeprecationWarning):
        marker = Query(regex="^x")
    assert marker.pattern == "^x"


def test_annotated_markers_and_defaults(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/a")
    def a(
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        skip: int = Query(0, ge=0),
        name: Annotated[str | None, Query(alias="item-name", max_length=5)] = None,
    ) -> dict[str, Any]:
        return {"limit": limit, "skip": skip, "name": name}

    assert client.get("/a").json() == {"limit": 10, "skip": 0, "name": None}
    assert client.get("/a?limit=5&skip=2&item-name=box").json() == {
        "limit": 5,
        "skip": 2,
        "name": "box",
    }
    response = client.get("/a?limit=0&item-name=toolong")
    assert [e["loc"] for e in response.json()["detail"]] == [
        ["query", "limit"],
        ["query", "item-name"],
    ]


def test_annotated_default_in_marker_is_refused(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match="cannot be set in Annotated"):

        @app.get("/bad")
        def bad(q: Annotated[int, Query(5)]) -> int:
            return q


def test_list_query_params(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/l")
    def lists(
        ids: list[int],
        tags: List[str] = Query(default_factory=list),  # noqa: UP006
        opt: list[str] | None = None,
    ) -> dict[str, Any]:
        return {"ids": ids, "tags": tags, "opt": opt}

    assert client.get("/l?ids=1&ids=2&tags=a").json() == {
        "ids": [1, 2],
        "tags": ["a"],
        "opt": None,
    }
    response = client.get("/l?ids=1&ids=x")
    assert response.json()["detail"] == [
        {
            "type": "int_parsing",
            "loc": ["query", "ids", 1],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "x",
        }
    ]
    assert client.get("/l").json()["detail"][0]["type"] == "missing"


def test_last_query_value_wins_for_scalars(app: GoFastAPI, client: TestClient) -> None:
    app.get("/last")(lambda q: q)
    assert client.get("/last?q=1&q=2").json() == "2"


def test_query_percent_and_plus_decoding(app: GoFastAPI, client: TestClient) -> None:
    app.get("/d")(lambda q: q)
    assert client.get("/d?q=a+b%26c%20d").json() == "a b&c d"
    assert client.get("/d?q=").json() == ""


def test_path_params(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/users/{user_id}/orders/{order_id}")
    def order(
        user_id: uuid.UUID, order_id: Annotated[int, Path(ge=1)]
    ) -> dict[str, Any]:
        return {"user_id": user_id, "order_id": order_id}

    uid = "12345678-1234-5678-1234-567812345678"
    assert client.get(f"/users/{uid}/orders/3").json() == {
        "user_id": uid,
        "order_id": 3,
    }
    errors = client.get("/users/nope/orders/0").json()["detail"]
    assert [(e["type"], e["loc"]) for e in errors] == [
        ("uuid_parsing", ["path", "user_id"]),
        ("greater_than_equal", ["path", "order_id"]),
    ]


def test_path_marker_without_template_param_fails(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match=r"Path\(\) but the route's path has no \{x\}"):

        @app.get("/nothing")
        def bad(x: int = Path()) -> int:
            return x


def test_headers(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/h")
    def h(
        user_agent: str = Header(),
        x_token: list[str] = Header(default_factory=list),
        x_raw_name: str | None = Header(None, convert_underscores=False),
        custom: Annotated[int, Header(alias="X-Custom")] = 0,
    ) -> dict[str, Any]:
        return {
            "ua": user_agent,
            "tokens": x_token,
            "raw": x_raw_name,
            "custom": custom,
        }

    response = client.get(
        "/h", headers={"X-Token": "a", "x-custom": "5", "x_raw_name": "r"}
    )
    assert response.json() == {
        "ua": "testclient",
        "tokens": ["a"],
        "raw": "r",
        "custom": 5,
    }
    response = client.get("/h", headers={"user-agent": "", "X-Custom": "x"})
    [error] = response.json()["detail"]
    assert error["loc"] == ["header", "x-custom"]


def test_repeated_headers_become_lists(app: GoFastAPI) -> None:
    @app.get("/h")
    def h(x_token: list[str] = Header()) -> list[str]:
        return x_token

    from gofastapi._runner import Runtime

    runtime = Runtime(app)
    status, _, body = runtime.handle(
        0, "GET", "/h", "", "x-token: a\r\nx-token: b\r\n", b"", "", 0, "http", "r", ()
    )
    assert (status, body) == (200, b'["a","b"]')


def test_missing_header_error(app: GoFastAPI, client: TestClient) -> None:
    app.get("/h")(lambda x_token=Header(): x_token)
    assert client.get("/h").json() == {
        "detail": [
            {
                "type": "missing",
                "loc": ["header", "x-token"],
                "msg": "Field required",
                "input": None,
            },
        ]
    }


def test_cookies(app: GoFastAPI, client: TestClient) -> None:
    @app.get("/c")
    def c(
        session: str = Cookie(),
        theme: str = Cookie("light"),
        n: int | None = Cookie(None),
    ) -> dict[str, Any]:
        return {"session": session, "theme": theme, "n": n}

    assert client.get("/c", cookies={"session": "abc", "n": "3"}).json() == {
        "session": "abc",
        "theme": "light",
        "n": 3,
    }
    assert (
        client.get("/c", headers={"cookie": 'session="q v"; theme=dark'}).json()[
            "theme"
        ]
        == "dark"
    )
    assert client.get("/c").json()["detail"][0]["loc"] == ["cookie", "session"]


def test_optional_without_default_is_required(
    app: GoFastAPI, client: TestClient
) -> None:
    app.get("/o")(lambda q: q)
    app.routes.clear()

    @app.get("/o")
    def o(q: int | None) -> int | None:
        return q

    assert client.get("/o").json()["detail"][0]["type"] == "missing"
    assert client.get("/o?q=1").json() == 1


def test_errors_are_all_reported_in_fastapi_order(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.get("/all/{pid}")
    def handler(pid: int, q: int, x_h: int = Header(), c: int = Cookie()) -> None:
        return None

    errors = client.get("/all/x?q=y", headers={"x-h": "z"}, cookies={"c": "w"}).json()[
        "detail"
    ]
    assert [e["loc"] for e in errors] == [
        ["path", "pid"],
        ["query", "q"],
        ["header", "x-h"],
        ["cookie", "c"],
    ]


def test_mutable_defaults_are_copied_per_request(
    app: GoFastAPI, client: TestClient
) -> None:
    @app.get("/m")
    def m(tags: list[str] = Query(["a"])) -> list[str]:
        tags.append("b")
        return tags

    assert client.get("/m").json() == ["a", "b"]
    assert client.get("/m").json() == ["a", "b"]


class Custom:
    pass


@pytest.mark.parametrize(
    "annotation",
    [dict, dict[str, int]],
    ids=["dict", "dict-str-int"],
)
def test_query_with_body_type_fails_at_decoration(annotation: Any) -> None:
    app = GoFastAPI()

    def handler(v=Query()):  # type: ignore[no-untyped-def]
        return v

    handler.__annotations__ = {"v": annotation}
    with pytest.raises(
        TypeError, match=r"parameter 'v'.*cannot be read from the query"
    ):
        app.get("/x")(handler)


def test_unsupported_type_fails_at_decoration(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match=r"parameter 'v'.*unsupported type Custom"):

        @app.post("/x")
        def handler(v: Custom) -> None:
            return None


def test_unresolvable_annotation_names_the_handler(app: GoFastAPI) -> None:
    with pytest.raises(TypeError, match="handler: cannot resolve an annotation"):

        @app.post("/x")
        def handler(v: NotDefinedAnywhere) -> None:  # type: ignore[name-defined]  # noqa: F821
            return None
