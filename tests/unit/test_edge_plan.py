"""Which routes get a Go validation plan (gofastapi._edge_plan), and what it says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated

import pytest

from gofastapi import Depends, GoFastAPI, Query, RequestValidationError


@dataclass
class Flat:
    name: str
    price: float = 1.0


@dataclass
class WithList:
    tags: list[str] = field(default_factory=list)


@dataclass
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("negative")


def plans(app: GoFastAPI) -> dict[str, object]:
    return {r["path"]: r["validate"] for r in app.describe()["routes"]}


def test_eligible_routes_get_plans_with_pythons_messages():
    app = GoFastAPI()

    @app.get("/a/{n}")
    def a(n: int, q: Annotated[int, Query(ge=1)] = 5, s: str | None = None):
        return {}

    @app.post("/b")
    def b(item: Flat):
        return {}

    got = plans(app)
    a_plan = got["/a/{n}"]
    assert [p["name"] for p in a_plan["params"]] == ["n", "q", "s"]
    assert a_plan["params"][1]["checks"] == [{
        "op": "ge", "limit": 1, "type": "greater_than_equal",
        "msg": "Input should be greater than or equal to 1", "ctx": {"ge": 1}}]
    assert a_plan["params"][0]["parse_error"][0] == "int_parsing"
    body = got["/b"]["body"]
    assert [(f["name"], f["kind"], f["required"]) for f in body["fields"]] == [("name", "str", True), ("price", "float", False)]
    assert body["type_error"] == ["dataclass_type", "Input should be a dictionary or an instance of Flat"]
    json.dumps(got)  # Go reads it as JSON


@pytest.mark.parametrize("case", ["pattern", "list_param", "header", "dependency", "list_field", "post_init", "dict_body"])
def test_routes_python_must_judge_get_no_plan(case):
    app = GoFastAPI()
    if case == "pattern":

        @app.get("/x")
        def x(q: Annotated[str, Query(pattern="^a")]):
            return {}
    elif case == "list_param":
        @app.get("/x")
        def x(q: list[int] = Query([])):
            return {}
    elif case == "header":
        from gofastapi import Header

        @app.get("/x")
        def x(h: int = Header(0)):
            return {}
    elif case == "dependency":
        def dep(n: int = 0):
            return n

        @app.get("/x")
        def x(d: int = Depends(dep)):
            return {}
    elif case == "list_field":
        @app.post("/x")
        def x(item: WithList):
            return {}
    elif case == "post_init":
        @app.post("/x")
        def x(item: Checked):
            return {}
    else:
        @app.post("/x")
        def x(item: dict):
            return {}
    assert plans(app)["/x"] is None


def test_middleware_or_custom_validation_handler_disables_plans():
    app = GoFastAPI()

    @app.get("/x")
    def x(n: int):
        return {}

    assert plans(app)["/x"] is not None
    app.exception_handler(RequestValidationError)(lambda request, exc: None)
    assert plans(app)["/x"] is None

    app2 = GoFastAPI()
    app2.get("/x")(x)
    app2.middleware("http")(lambda request, call_next: call_next(request))
    assert plans(app2)["/x"] is None
