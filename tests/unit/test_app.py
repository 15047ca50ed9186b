"""App settings validation, the description, and lifecycle hooks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from gofastapi import GoFastAPI, Request
from gofastapi.testclient import TestClient


def test_default_settings() -> None:
    assert GoFastAPI().settings == {
        "cors_origins": [],
        "cors_methods": ["GET"],
        "cors_headers": [],
        "cors_credentials": False,
        "cors_max_age": 600,
        "security_headers": True,
        "max_request_size": 1048576,
        "rate_limit": None,
        "allowed_imports": None,
        "timeout": None,
    }


@pytest.mark.parametrize(
    ("given", "key", "expected"),
    [
        ({"max_request_size": "10MB"}, "max_request_size", 10 * 1024 * 1024),
        ({"max_request_size": "512KB"}, "max_request_size", 512 * 1024),
        ({"max_request_size": "1GiB"}, "max_request_size", 1024**3),
        ({"max_request_size": "2 mib"}, "max_request_size", 2 * 1024**2),
        ({"max_request_size": "100"}, "max_request_size", 100),
        ({"max_request_size": "1.5MB"}, "max_request_size", 1572864),
        ({"max_request_size": 2048}, "max_request_size", 2048),
        ({"max_request_size": None}, "max_request_size", None),
        ({"rate_limit": "100/minute"}, "rate_limit", "100/minute"),
        ({"rate_limit": "5/Second; burst=10"}, "rate_limit", "5/second;burst=10"),
        (
            {"cors_origins": ["https://example.com/", "*"]},
            "cors_origins",
            ["https://example.com", "*"],
        ),
        ({"cors_methods": ["get", "post"]}, "cors_methods", ["GET", "POST"]),
        (
            {"cors_headers": ["Content-Type", "Authorization"]},
            "cors_headers",
            ["Content-Type", "Authorization"],
        ),
        (
            {"security_headers": {"X-Frame-Options": "DENY"}},
            "security_headers",
            {"X-Frame-Options": "DENY"},
        ),
        ({"security_headers": False}, "security_headers", False),
        (
            {"allowed_imports": ["json", "my.pkg"]},
            "allowed_imports",
            ["json", "my.pkg"],
        ),
        ({"timeout": 2}, "timeout", 2.0),
        ({"cors_max_age": 0}, "cors_max_age", 0),
    ],
    ids=lambda v: str(v)[:30],
)
def test_settings_are_normalised(
    given: dict[str, Any], key: str, expected: Any
) -> None:
    assert GoFastAPI(**given).settings[key] == expected


@pytest.mark.parametrize(
    ("given", "error", "message"),
    [
        ({"max_request_size": "10 parsecs"}, ValueError, "max_request_size must be"),
        ({"max_request_size": -1}, ValueError, "max_request_size"),
        ({"max_request_size": 1.5}, TypeError, "max_request_size"),
        ({"max_request_size": "1.5"}, ValueError, "max_request_size"),
        ({"rate_limit": "100/fortnight"}, ValueError, "rate_limit must be"),
        ({"rate_limit": "0/minute"}, ValueError, "rate_limit"),
        ({"rate_limit": "10/minute;burst=0"}, ValueError, "rate_limit"),
        ({"rate_limit": 100}, TypeError, "rate_limit"),
        ({"cors_origins": "https://a.com"}, TypeError, "cors_origins must be a list"),
        ({"cors_origins": ["example.com"]}, ValueError, "not an origin"),
        ({"cors_origins": ["https://a.com/path"]}, ValueError, "not an origin"),
        ({"cors_methods": ["GET POST"]}, ValueError, "cors_methods"),
        ({"cors_headers": [1]}, TypeError, "cors_headers"),
        ({"cors_credentials": "yes"}, TypeError, "cors_credentials"),
        (
            {"cors_credentials": True, "cors_origins": ["*"]},
            ValueError,
            "cors_credentials=True cannot be combined",
        ),
        ({"cors_max_age": -1}, ValueError, "cors_max_age"),
        ({"cors_max_age": True}, TypeError, "cors_max_age"),
        ({"security_headers": {"Bad Name": "x"}}, ValueError, "security_headers"),
        ({"security_headers": {"X-A": "a\r\nb"}}, ValueError, "security_headers"),
        ({"security_headers": "on"}, TypeError, "security_headers"),
        ({"allowed_imports": "json"}, TypeError, "allowed_imports"),
        ({"allowed_imports": ["os;rm"]}, ValueError, "allowed_imports"),
        ({"timeout": 0}, ValueError, "timeout"),
        ({"timeout": "5s"}, TypeError, "timeout"),
        ({"debug": "yes"}, TypeError, "debug"),
        ({"cors_orgins": []}, TypeError, "unexpected keyword argument 'cors_orgins'"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_settings_fail_naming_the_setting(
    given: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        GoFastAPI(**given)


def test_seed_configuration_is_accepted() -> None:
    app = GoFastAPI(
        debug=False,
        cors_origins=["https://yourdomain.com"],
        security_headers=True,
        max_request_size="10MB",
    )
    assert app.settings["max_request_size"] == 10485760
    app = GoFastAPI(
        cors_origins=["https://trusted-domain.com"],
        cors_methods=["GET", "POST"],
        cors_headers=["Content-Type", "Authorization"],
        cors_credentials=False,
    )
    assert app.settings["cors_methods"] == ["GET", "POST"]


def test_description_and_fingerprint() -> None:
    def build() -> GoFastAPI:
        app = GoFastAPI(title="Shop", version="2.0")
        app.get(
            "/items/{item_id}",
            tags=["items"],
            summary="Read",
            rate_limit="10/second",
            max_request_size="1KB",
            timeout=1.5,
        )(lambda item_id: item_id)
        app.api_route(
            "/files/{p:path}",
            methods=["GET", "PUT"],
            status_code=202,
            include_in_schema=False,
        )(lambda p: p)
        return app

    first, second = build().describe(), build().describe()
    assert first == second
    assert (
        first["title"] == "Shop"
        and first["version"] == "2.0"
        and first["debug"] is False
    )
    assert first["routes"] == [
        {
            "id": 0,
            "name": "<lambda>",
            "methods": ["GET"],
            "path": "/items/{item_id}",
            "go_pattern": "/items/{item_id}",
            "path_params": ["item_id"],
            "status_code": 200,
            "include_in_schema": True,
            "tags": ["items"],
            "summary": "Read",
            "rate_limit": "10/second",
            "max_request_size": 1024,
            "timeout": 1.5,
            "media_types": [],
            "jwt": None,
            "validate": None,
        },
        {
            "id": 1,
            "name": "<lambda>",
            "methods": ["GET", "PUT"],
            "path": "/files/{p:path}",
            "go_pattern": "/files/{p...}",
            "path_params": ["p"],
            "status_code": 202,
            "include_in_schema": False,
            "tags": [],
            "summary": None,
            "rate_limit": None,
            "max_request_size": None,
            "timeout": None,
            "media_types": [],
            "jwt": None,
            "validate": None,
        },
    ]
    assert len(first["fingerprint"]) == 64
    other = build()
    other.get("/extra")(lambda: None)
    assert other.describe()["fingerprint"] != first["fingerprint"]


def test_route_media_types_and_rate_limit_off() -> None:
    from gofastapi import Body

    app = GoFastAPI(rate_limit="10/second")
    app.post("/json")(lambda payload=Body(): payload)
    app.post("/text", rate_limit="off")(
        lambda payload=Body(media_type="text/plain"), other=Body(): payload
    )
    routes = app.describe()["routes"]
    assert routes[0]["media_types"] == ["application/json"]
    assert routes[1]["media_types"] == ["application/json", "text/plain"]
    assert routes[1]["rate_limit"] == "off"
    with pytest.raises(ValueError, match="or 'off'"):
        app.get("/bad", rate_limit="never")(lambda: None)


def test_startup_and_shutdown_hooks() -> None:
    events: list[str] = []
    app = GoFastAPI(on_startup=[lambda: events.append("kw-start")])

    @app.on_event("startup")
    async def start() -> None:
        events.append("start")

    @app.on_event("shutdown")
    def stop() -> None:
        events.append("stop")

    app.get("/e")(lambda: list(events))
    with TestClient(app) as client:
        assert client.get("/e").json() == ["kw-start", "start"]
    assert events == ["kw-start", "start", "stop"]


def test_event_type_is_checked(app: GoFastAPI) -> None:
    with pytest.raises(ValueError, match="startup"):
        app.on_event("boot")


def test_async_lifespan_state_reaches_requests() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: GoFastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("enter")
        yield {"db": "conn"}
        events.append("exit")

    app = GoFastAPI(lifespan=lifespan)

    @app.get("/db")
    def db(request: Request) -> str:
        return request.state.db  # type: ignore[no-any-return]

    with TestClient(app) as client:
        assert client.get("/db").json() == "conn"
        assert events == ["enter"]
    assert events == ["enter", "exit"]


def test_sync_lifespan() -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def lifespan(app: GoFastAPI) -> Iterator[None]:
        events.append("enter")
        yield
        events.append("exit")

    app = GoFastAPI(lifespan=lifespan)
    with TestClient(app):
        pass
    assert events == ["enter", "exit"]


def test_failing_shutdown_hook_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = GoFastAPI()
    app.on_event("shutdown")(lambda: 1 / 0)
    ran: list[str] = []
    app.on_event("shutdown")(lambda: ran.append("second"))
    app.startup()
    app.shutdown()
    assert ran == ["second"]
    assert "shutdown hook" in caplog.text


def test_routes_added_after_testclient_are_served(
    app: GoFastAPI, client: TestClient
) -> None:
    app.get("/a")(lambda: "a")
    assert client.get("/a").json() == "a"
    app.get("/b")(lambda: "b")
    assert client.get("/b").json() == "b"


def test_public_api_exports() -> None:
    import gofastapi

    for name in gofastapi.__all__:
        assert hasattr(gofastapi, name), name
