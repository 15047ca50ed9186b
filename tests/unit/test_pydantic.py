"""Pydantic models as bodies, query/header/cookie models and response models (FastAPI 0.115's behaviour).

Expected bodies were checked side by side against FastAPI 0.115.6 + pydantic 2.10.4.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import json
import logging
import subprocess
import sys
import uuid
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import pytest

pydantic = pytest.importorskip("pydantic")

from pydantic import (  # noqa: E402
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass  # noqa: E402

from gofastapi import Body, Cookie, Depends, GoFastAPI, Header, Query  # noqa: E402
from gofastapi.encoders import jsonable_encoder  # noqa: E402
from gofastapi.exceptions import ResponseValidationError  # noqa: E402
from gofastapi.testclient import TestClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore"
    )  # PydanticDeprecatedSince20: the seed uses v1's @validator
    from pydantic import validator

    class UserInput(BaseModel):
        """The seed's model, exactly as users write it."""

        username: str
        email: str

        @validator("username")
        def validate_username(cls, v):  # type: ignore[no-untyped-def]  # noqa: N805
            if not v.isalnum():
                raise ValueError("Username must be alphanumeric")
            return v


class Image(BaseModel):
    url: str
    name: str = Field(min_length=2)


class Item(BaseModel):
    name: str = Field(max_length=10)
    price: float = Field(gt=0)
    tax: Optional[float] = None  # noqa: UP045
    tags: list[str] = []
    images: Optional[list[Image]] = None  # noqa: UP045

    @field_validator("name")
    @classmethod
    def no_x(cls, v: str) -> str:
        if "x" in v:
            raise ValueError("no x allowed")
        return v


class Window(BaseModel):
    lo: int
    hi: int

    @model_validator(mode="after")
    def ordered(self) -> Window:
        if self.lo > self.hi:
            raise ValueError("lo > hi")
        return self


class User(BaseModel):
    username: str
    full_name: Optional[str] = None  # noqa: UP045


class UserIn(User):
    password: str


class Aliased(BaseModel):
    user_name: str = Field(alias="userName")
    when: dt.datetime
    ident: uuid.UUID
    amount: decimal.Decimal
    secret: SecretStr = SecretStr("s3cr3t")


class FilterParams(BaseModel):
    limit: int = Field(100, gt=0, le=100)
    offset: int = Field(0, ge=0)
    order_by: Literal["created_at", "updated_at"] = "created_at"
    tags: list[str] = []


class StrictFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: Optional[str] = None  # noqa: UP045
    n: int = 1


class CommonHeaders(BaseModel):
    host: str
    x_token: list[str] = []
    save_data: bool = False


class Cookies(BaseModel):
    session_id: str
    tracker: Optional[str] = None  # noqa: UP045


class Cat(BaseModel):
    kind: Literal["cat"]
    meows: int


class Dog(BaseModel):
    kind: Literal["dog"]
    barks: int


class Tree(BaseModel):
    value: int
    children: list[Tree] = []


@pydantic_dataclass
class Point:
    x: int
    label: str = "p"


@dataclasses.dataclass
class PlainUser:
    username: str
    full_name: str | None = None


class Orm:
    """An object read through attributes (FastAPI validates with from_attributes=True)."""

    def __init__(self) -> None:
        self.username = "orm"
        self.full_name = None
        self.password = "hidden"


def _build() -> GoFastAPI:
    app = GoFastAPI()

    @app.post("/seed")
    def seed(user: UserInput) -> Any:
        return user

    @app.post("/items")
    def create_item(item: Item) -> Any:
        return item

    @app.post("/items-list")
    def items_list(items: list[Item]) -> Any:
        return {"n": len(items)}

    @app.post("/window")
    def window(w: Window) -> Any:
        return w

    @app.post("/multi")
    def multi(item: Item, user: User, importance: int = Body(gt=0)) -> Any:
        return {"item": item, "user": user, "importance": importance}

    @app.post("/embed")
    def embed(item: Item = Body(embed=True)) -> Any:
        return {"item": item}

    @app.post("/optional-body")
    def optional_body(item: Optional[Item] = None) -> Any:  # noqa: UP045
        return {"item": item}

    @app.post("/union")
    def union(pet: Union[Cat, Dog]) -> Any:  # noqa: UP007
        return pet

    @app.post("/list-min")
    def list_min(items: Annotated[list[Item], Body(min_length=1)]) -> Any:
        return len(items)

    @app.post("/tree")
    def tree(t: Tree) -> Tree:
        return t

    @app.post("/point")
    def point(p: Point) -> Any:
        return p

    @app.post("/async-item")
    async def async_item(item: Item) -> Any:
        return {"name": item.name}

    def item_dep(item: Item) -> Item:
        return item

    @app.post("/dep-model")
    def dep_model(item: Item = Depends(item_dep)) -> Any:
        return item

    @app.get("/query-model")
    def query_model(filter_query: Annotated[FilterParams, Query()]) -> Any:
        return filter_query

    @app.get("/query-strict")
    def query_strict(f: Annotated[StrictFilter, Query()]) -> Any:
        return f

    @app.get("/header-model")
    def header_model(headers: Annotated[CommonHeaders, Header()]) -> Any:
        return headers

    @app.get("/cookie-model")
    def cookie_model(c: Annotated[Cookies, Cookie()]) -> Any:
        return c

    @app.get("/query-annotated")
    def query_annotated(
        n: Annotated[int, Field(gt=1)], s: Annotated[str, Query(min_length=3)] = "abc"
    ) -> Any:
        return {"n": n, "s": s}

    @app.get("/secret")
    def secret(token: SecretStr) -> Any:
        return {"length": len(token.get_secret_value()), "token": token}

    @app.post("/aliased")
    def aliased(a: Aliased) -> Any:
        return a

    @app.get("/direct")
    def direct() -> Any:
        return Aliased(
            userName="bob",
            when=dt.datetime(2024, 1, 2, 3, 4, 5),
            ident=uuid.UUID(int=1),
            amount=decimal.Decimal("1.50"),
        )

    @app.get("/direct-nested")
    def direct_nested() -> Any:
        return {"users": [User(username="a"), UserIn(username="b", password="p")]}

    @app.get("/rm-dict", response_model=User)
    def rm_dict() -> Any:
        return {"username": "a", "password": "leak", "full_name": "A"}

    @app.get("/rm-sub", response_model=User)
    def rm_sub() -> Any:
        return UserIn(username="a", password="leak")

    @app.get("/rm-list", response_model=list[User])
    def rm_list() -> Any:
        return [
            UserIn(username="a", password="leak"),
            {"username": "b", "password": "x"},
        ]

    @app.get("/rm-optional", response_model=Optional[User])  # noqa: UP045
    def rm_optional() -> Any:
        return None

    @app.get("/rm-annotation")
    def rm_annotation() -> User:
        return UserIn(username="a", password="leak")

    @app.get("/rm-annotation-list")
    def rm_annotation_list() -> list[Item]:
        return [{"name": "a", "price": 1, "junk": 2}]  # type: ignore[list-item]

    class DBUser(BaseModel):
        username: str
        password: str

    @app.get("/rm-other-model", response_model=User)
    def rm_other_model() -> Any:
        return DBUser(username="db", password="leak")

    @app.get("/rm-dataclass", response_model=User)
    def rm_dataclass() -> Any:
        return PlainUser(username="dc", full_name="D")

    @app.get("/rm-async", response_model=dict[str, list[User]])
    async def rm_async() -> Any:
        return {"x": [DBUser(username="a", password="leak")]}

    @app.get("/rm-orm", response_model=User)
    def rm_orm() -> Any:
        return Orm()

    @app.get("/rm-unset", response_model=Item, response_model_exclude_unset=True)
    def rm_unset() -> Any:
        return Item(name="n", price=1.0, tags=[])

    @app.get("/rm-none", response_model=Item, response_model_exclude_none=True)
    def rm_none() -> Any:
        return {"name": "n", "price": 1.0}

    @app.get("/rm-defaults", response_model=Item, response_model_exclude_defaults=True)
    def rm_defaults() -> Any:
        return {"name": "n", "price": 1.0, "tags": [], "tax": 2.0}

    @app.get(
        "/rm-include", response_model=Item, response_model_include={"name", "price"}
    )
    def rm_include() -> Any:
        return {"name": "n", "price": 1.0, "tax": 3.0}

    @app.get("/rm-exclude", response_model=Item, response_model_exclude={"tax"})
    def rm_exclude() -> Any:
        return {"name": "n", "price": 1.0, "tax": 3.0}

    alias_input = {
        "userName": "z",
        "when": "2024-01-01T00:00:00",
        "ident": str(uuid.UUID(int=2)),
        "amount": "3",
    }

    @app.get("/rm-alias", response_model=Aliased)
    def rm_alias() -> Any:
        return alias_input

    @app.get("/rm-alias-off", response_model=Aliased, response_model_by_alias=False)
    def rm_alias_off() -> Any:
        return alias_input

    @app.get("/rm-bad", response_model=User)
    def rm_bad() -> Any:
        return {"full_name": "no username"}

    @app.get(
        "/rm-dataclass-none", response_model=PlainUser, response_model_exclude_none=True
    )
    def rm_dataclass_none() -> Any:
        return {"username": "u"}

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(_build(), raise_server_exceptions=False)


def _post(client: TestClient, url: str, body: Any) -> tuple[int, Any]:
    response = client.post(url, json=body)
    return response.status_code, response.json()


# --------------------------------------------------------------------------- the seed


@pytest.mark.parametrize(
    ("body", "status", "expected"),
    [
        (
            {"username": "b ob", "email": "e"},
            422,
            {
                "detail": [
                    {
                        "type": "value_error",
                        "loc": ["body", "username"],
                        "msg": "Value error, Username must be alphanumeric",
                        "input": "b ob",
                        "ctx": {"error": {}},
                    }
                ]
            },
        ),
        ({"username": "bob", "email": "e"}, 200, {"username": "bob", "email": "e"}),
        (
            {"username": 1},
            422,
            {
                "detail": [
                    {
                        "type": "string_type",
                        "loc": ["body", "username"],
                        "msg": "Input should be a valid string",
                        "input": 1,
                    },
                    {
                        "type": "missing",
                        "loc": ["body", "email"],
                        "msg": "Field required",
                        "input": {"username": 1},
                    },
                ]
            },
        ),
        (
            [1],
            422,
            {
                "detail": [
                    {
                        "type": "model_attributes_type",
                        "loc": ["body"],
                        "msg": "Input should be a valid dictionary or object to extract fields from",
                        "input": [1],
                    }
                ]
            },
        ),
        (
            None,
            422,
            {
                "detail": [
                    {
                        "type": "missing",
                        "loc": ["body"],
                        "msg": "Field required",
                        "input": None,
                    }
                ]
            },
        ),
    ],
    ids=[
        "not-alphanumeric",
        "valid",
        "wrong-type-and-missing",
        "not-an-object",
        "null",
    ],
)
def test_seed_user_input(
    client: TestClient, body: Any, status: int, expected: Any
) -> None:
    assert _post(client, "/seed", body) == (status, expected)


def test_invalid_json_and_empty_body(client: TestClient) -> None:
    response = client.post("/seed", content=b"{bad")
    assert response.status_code == 422
    assert response.json()["detail"][0] == {
        "type": "json_invalid",
        "loc": ["body", 1],
        "msg": "JSON decode error",
        "input": {},
        "ctx": {"error": "Expecting property name enclosed in double quotes"},
    }
    assert client.post("/seed").json()["detail"][0]["loc"] == ["body"]


# --------------------------------------------------------------------------- bodies


def test_nested_model_constraints_and_validators(client: TestClient) -> None:
    ok = {"name": "hammer", "price": 3, "images": [{"url": "u", "name": "nm"}]}
    assert _post(client, "/items", ok) == (
        200,
        {
            "name": "hammer",
            "price": 3.0,
            "tax": None,
            "tags": [],
            "images": [{"url": "u", "name": "nm"}],
        },
    )
    status, body = _post(
        client,
        "/items",
        {"name": "xxxxxxxxxxxxx", "price": 0, "tags": "a", "images": [{"url": 1}]},
    )
    assert status == 422
    assert [(e["type"], e["loc"], e.get("ctx")) for e in body["detail"]] == [
        ("string_too_long", ["body", "name"], {"max_length": 10}),
        ("greater_than", ["body", "price"], {"gt": 0}),
        ("list_type", ["body", "tags"], None),
        ("string_type", ["body", "images", 0, "url"], None),
        ("missing", ["body", "images", 0, "name"], None),
    ]
    status, body = _post(client, "/items", {"name": "bag", "price": 1})
    assert status == 200
    status, body = _post(client, "/items", {"name": "x", "price": 1})
    assert body["detail"][0]["msg"] == "Value error, no x allowed"


@pytest.mark.parametrize(
    ("url", "body", "status", "expected"),
    [
        ("/items-list", [{"name": "a", "price": 1}], 200, {"n": 1}),
        (
            "/items-list",
            [{"name": "a", "price": 1}, {"name": "b", "price": -1}],
            422,
            [("greater_than", ["body", 1, "price"])],
        ),
        ("/items-list", {"name": "a"}, 422, [("list_type", ["body"])]),
        ("/list-min", [], 422, [("too_short", ["body"])]),
        ("/list-min", [{"name": "n", "price": 1}], 200, 1),
        ("/window", {"lo": 3, "hi": 1}, 422, [("value_error", ["body"])]),
        ("/union", {"kind": "dog", "barks": 2}, 200, {"kind": "dog", "barks": 2}),
        (
            "/union",
            {"kind": "cow"},
            422,
            [
                ("literal_error", ["body", "Cat", "kind"]),
                ("missing", ["body", "Cat", "meows"]),
                ("literal_error", ["body", "Dog", "kind"]),
                ("missing", ["body", "Dog", "barks"]),
            ],
        ),
        (
            "/tree",
            {"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]},
            422,
            [("int_parsing", ["body", "children", 0, "children", 0, "value"])],
        ),
        ("/tree", {"value": 1, "children": [{"value": 2}]}, 200, None),
        ("/point", {"x": "5"}, 200, {"x": 5, "label": "p"}),
        ("/point", {"x": "z"}, 422, [("int_parsing", ["body", "x"])]),
        ("/async-item", {"name": "n", "price": "1.5"}, 200, {"name": "n"}),
        ("/async-item", {"name": "n"}, 422, [("missing", ["body", "price"])]),
        ("/dep-model", {"name": "n", "price": 1}, 200, None),
        ("/dep-model", {"name": "n"}, 422, [("missing", ["body", "price"])]),
    ],
    ids=[
        "list",
        "list-item-error",
        "list-not-a-list",
        "body-min-length",
        "body-min-length-ok",
        "model-validator",
        "union",
        "union-errors",
        "recursive-error",
        "recursive",
        "pydantic-dataclass",
        "pydantic-dataclass-error",
        "async",
        "async-error",
        "model-in-dependency",
        "model-in-dependency-error",
    ],
)
def test_body_shapes(
    client: TestClient, url: str, body: Any, status: int, expected: Any
) -> None:
    got_status, got = _post(client, url, body)
    assert got_status == status
    if status == 422:
        assert [(e["type"], e["loc"]) for e in got["detail"]] == expected
    elif expected is not None:
        assert got == expected


@pytest.mark.parametrize(
    ("url", "body", "status", "expected"),
    [
        (
            "/multi",
            {
                "item": {"name": "a", "price": 1},
                "user": {"username": "u"},
                "importance": 5,
            },
            200,
            {
                "item": {
                    "name": "a",
                    "price": 1.0,
                    "tax": None,
                    "tags": [],
                    "images": None,
                },
                "user": {"username": "u", "full_name": None},
                "importance": 5,
            },
        ),
        (
            "/multi",
            {"item": {"name": "a", "price": 1}, "importance": 0},
            422,
            [("missing", ["body", "user"]), ("greater_than", ["body", "importance"])],
        ),
        (
            "/multi",
            [1, 2],
            422,
            [
                ("missing", ["body", "item"]),
                ("missing", ["body", "user"]),
                ("missing", ["body", "importance"]),
            ],
        ),
        ("/embed", {"item": {"name": "a", "price": 1}}, 200, None),
        (
            "/embed",
            {"name": "a", "price": 1},
            422,
            [("missing", ["body", "item"])],
        ),
        ("/optional-body", None, 200, {"item": None}),
        ("/optional-body", {"name": "a"}, 422, [("missing", ["body", "price"])]),
    ],
    ids=[
        "multi",
        "multi-errors",
        "multi-not-object",
        "embed",
        "embed-missing",
        "optional",
        "optional-error",
    ],
)
def test_multiple_and_embedded_bodies(
    client: TestClient, url: str, body: Any, status: int, expected: Any
) -> None:
    got_status, got = _post(client, url, body)
    assert got_status == status
    if status == 422:
        assert [(e["type"], e["loc"]) for e in got["detail"]] == expected
    elif expected is not None:
        assert got == expected


# --------------------------------------------------------------------------- query, header, cookie models


@pytest.mark.parametrize(
    ("params", "status", "expected"),
    [
        (
            [("limit", "5"), ("tags", "a"), ("tags", "b"), ("extra", "1")],
            200,
            {"limit": 5, "offset": 0, "order_by": "created_at", "tags": ["a", "b"]},
        ),
        ({}, 200, {"limit": 100, "offset": 0, "order_by": "created_at", "tags": []}),
        (
            {"limit": "0", "order_by": "x", "offset": "-1"},
            422,
            [
                ("greater_than", ["query", "limit"], "0"),
                ("greater_than_equal", ["query", "offset"], "-1"),
                ("literal_error", ["query", "order_by"], "x"),
            ],
        ),
    ],
    ids=["values", "defaults", "errors"],
)
def test_query_model(
    client: TestClient, params: Any, status: int, expected: Any
) -> None:
    response = client.get("/query-model", params=params)
    assert response.status_code == status
    if status == 422:
        assert [
            (e["type"], e["loc"], e["input"]) for e in response.json()["detail"]
        ] == expected
    else:
        assert response.json() == expected


def test_query_model_forbidding_extra_keys(client: TestClient) -> None:
    response = client.get("/query-strict", params={"q": "x", "tool": "plumbus"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "extra_forbidden",
            "loc": ["query", "tool"],
            "msg": "Extra inputs are not permitted",
            "input": "plumbus",
        }
    ]


def test_header_and_cookie_models(client: TestClient) -> None:
    response = client.get(
        "/header-model", headers={"x-token": "t1", "save-data": "yes"}
    )
    assert response.json() == {
        "host": "testserver",
        "x_token": ["t1"],
        "save_data": True,
    }
    response = client.get("/cookie-model", cookies={"session_id": "abc", "other": "1"})
    assert response.json() == {"session_id": "abc", "tracker": None}
    response = client.get("/cookie-model")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["cookie", "session_id"]


def test_pydantic_annotated_scalars_in_the_query(client: TestClient) -> None:
    response = client.get("/query-annotated", params={"n": "1", "s": "ab"})
    assert [(e["type"], e["loc"], e["ctx"]) for e in response.json()["detail"]] == [
        ("greater_than", ["query", "n"], {"gt": 1}),
        ("string_too_short", ["query", "s"], {"min_length": 3}),
    ]
    assert client.get("/query-annotated", params={"n": "5"}).json() == {
        "n": 5,
        "s": "abc",
    }
    assert client.get("/secret", params={"token": "hunter2"}).json() == {
        "length": 7,
        "token": "**********",
    }


def test_query_model_must_be_the_only_query_parameter() -> None:
    app = GoFastAPI()
    with pytest.raises(
        TypeError, match="'f' reads a model from the query.*also found: q"
    ):

        @app.get("/m")
        def m(f: Annotated[FilterParams, Query()], q: str = "x") -> Any:
            return f


# --------------------------------------------------------------------------- responses


def test_models_returned_directly_dump_in_json_mode_by_alias(
    client: TestClient,
) -> None:
    assert client.get("/direct").json() == {
        "userName": "bob",
        "when": "2024-01-02T03:04:05",
        "ident": "00000000-0000-0000-0000-000000000001",
        "amount": "1.50",
        "secret": "**********",
    }
    # Without a response model nothing is filtered (as in FastAPI).
    assert client.get("/direct-nested").json() == {
        "users": [
            {"username": "a", "full_name": None},
            {"username": "b", "full_name": None, "password": "p"},
        ]
    }
    status, body = _post(
        client,
        "/aliased",
        {
            "userName": "u",
            "when": "2024-01-01T10:00:00Z",
            "ident": str(uuid.UUID(int=3)),
            "amount": "2.5",
        },
    )
    assert (status, body["when"], body["amount"]) == (
        200,
        "2024-01-01T10:00:00Z",
        "2.5",
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/rm-dict", {"username": "a", "full_name": "A"}),
        ("/rm-sub", {"username": "a", "full_name": None}),
        (
            "/rm-list",
            [
                {"username": "a", "full_name": None},
                {"username": "b", "full_name": None},
            ],
        ),
        ("/rm-optional", None),
        ("/rm-annotation", {"username": "a", "full_name": None}),
        (
            "/rm-annotation-list",
            [{"name": "a", "price": 1.0, "tax": None, "tags": [], "images": None}],
        ),
        ("/rm-orm", {"username": "orm", "full_name": None}),
        ("/rm-other-model", {"username": "db", "full_name": None}),
        ("/rm-dataclass", {"username": "dc", "full_name": "D"}),
        ("/rm-async", {"x": [{"username": "a", "full_name": None}]}),
        ("/rm-unset", {"name": "n", "price": 1.0, "tags": []}),
        ("/rm-none", {"name": "n", "price": 1.0, "tags": []}),
        ("/rm-defaults", {"name": "n", "price": 1.0, "tax": 2.0}),
        ("/rm-include", {"name": "n", "price": 1.0}),
        ("/rm-exclude", {"name": "n", "price": 1.0, "tags": [], "images": None}),
        (
            "/rm-alias",
            {
                "userName": "z",
                "when": "2024-01-01T00:00:00",
                "ident": "00000000-0000-0000-0000-000000000002",
                "amount": "3",
                "secret": "**********",
            },
        ),
        (
            "/rm-alias-off",
            {
                "user_name": "z",
                "when": "2024-01-01T00:00:00",
                "ident": "00000000-0000-0000-0000-000000000002",
                "amount": "3",
                "secret": "**********",
            },
        ),
        ("/rm-dataclass-none", {"username": "u"}),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_response_models_filter_and_serialise(
    client: TestClient, url: str, expected: Any
) -> None:
    response = client.get(url)
    assert response.status_code == 200
    assert response.json() == expected


def test_response_validation_failure_is_a_logged_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = _build()
    with caplog.at_level(logging.ERROR, logger="gofastapi.error"):
        response = TestClient(app, raise_server_exceptions=False).get("/rm-bad")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal Server Error"}
    [record] = [r for r in caplog.records if r.name == "gofastapi.error"]
    assert "ResponseValidationError" in record.getMessage()
    with pytest.raises(ResponseValidationError) as info:
        TestClient(app).get("/rm-bad")
    assert info.value.errors()[0]["loc"] == ("response", "username")


def test_unsupported_response_options_fail_at_declaration() -> None:
    app = GoFastAPI()
    with pytest.raises(
        TypeError, match="response_model_exclude_unset needs a pydantic"
    ):
        app.get("/d", response_model=PlainUser, response_model_exclude_unset=True)(
            lambda: {}
        )


# --------------------------------------------------------------------------- plans and laziness


def test_type_adapters_are_built_at_declaration_not_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = _build()
    client = TestClient(app)
    built: list[Any] = []
    original = pydantic.TypeAdapter.__init__

    def counting(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(args)
        original(self, *args, **kwargs)

    monkeypatch.setattr(pydantic.TypeAdapter, "__init__", counting)
    for _ in range(3):
        client.post("/items", json={"name": "a", "price": 1})
        client.get("/query-model", params={"limit": "3"})
        client.get("/rm-list")
        client.post("/seed", json={"username": "b ob", "email": "e"})
    assert built == []


def test_validation_error_ctx_is_jsonable() -> None:
    errors = [{"type": "value_error", "ctx": {"error": ValueError("boom")}}]
    assert jsonable_encoder(errors) == [{"type": "value_error", "ctx": {"error": {}}}]


def test_import_gofastapi_imports_no_optional_dependency() -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import gofastapi, gofastapi.security, "
        "gofastapi.testclient, gofastapi._dispatch; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pydantic', 'pydantic_core', 'jwt', 'cryptography')))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_plain_apps_do_not_activate_pydantic() -> None:
    code = (
        "import sys, dataclasses; sys.path.insert(0, sys.argv[1]); import pydantic\n"
        "from gofastapi import GoFastAPI\nfrom gofastapi.testclient import TestClient\n"
        "@dataclasses.dataclass\nclass D:\n    a: int\n"
        "app = GoFastAPI()\n@app.post('/d')\ndef d(x: D, q: int = 1) -> D:\n    return x\n"
        "assert TestClient(app).post('/d', json={'a': 1}).json() == {'a': 1}\n"
        "print('gofastapi._pydantic' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_json_log_of_the_422_path_is_unaffected(client: TestClient) -> None:
    # A 422 is an answer, not an error: nothing is logged, the body is plain JSON.
    response = client.post("/items", json={"name": "a"})
    assert json.loads(response.content)["detail"][0]["type"] == "missing"
