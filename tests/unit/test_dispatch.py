"""The Go-facing entry points: load, handle and shutdown, with real app modules on disk."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gofastapi import _dispatch

APP_SOURCE = """
import dataclasses
from gofastapi import GoFastAPI, HTTPException, Header

app = GoFastAPI(cors_origins=["https://example.com"], max_request_size="10MB", rate_limit="100/minute")
events = []

@app.on_event("startup")
def start():
    events.append("startup")

@app.on_event("shutdown")
async def stop():
    events.append("shutdown")

@dataclasses.dataclass
class Item:
    name: str
    price: float

@app.get("/hello")
def hello():
    return {"message": "hello"}

@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}

@app.post("/items", status_code=201)
def create(item: Item, x_token: str = Header()):
    return {"name": item.name, "token": x_token}

@app.get("/files/{rest:path}")
def files(rest: str):
    return rest

@app.get("/fail")
def fail():
    raise HTTPException(403, "forbidden")

@app.get("/crash")
def crash():
    raise SystemExit(1)

@app.get("/events")
def get_events():
    return events

not_an_app = {"hello": "world"}
"""


@pytest.fixture
def write_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], str]]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    names: list[str] = []

    def write(source: str) -> str:
        name = f"gfa_app_{uuid.uuid4().hex[:8]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        names.append(name)
        return name

    yield write
    _dispatch.shutdown()
    for name in names:
        sys.modules.pop(name, None)


def call(
    route_id: int,
    method: str,
    path: str,
    query: str = "",
    headers: str = "host: localhost\r\n",
    body: bytes = b"",
    values: tuple[str, ...] = (),
) -> tuple[int, bytes, bytes]:
    return _dispatch.handle(
        route_id,
        method,
        path,
        query,
        headers,
        body,
        "10.0.0.1",
        4321,
        "https",
        "req-1",
        values,
    )


def test_load_returns_the_description(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(APP_SOURCE)
    description = json.loads(_dispatch.load(f"{name}:app", str(tmp_path)))
    assert description["protocol"] == _dispatch.PROTOCOL_VERSION == 2
    assert description["settings"]["max_request_size"] == 10 * 1024 * 1024
    assert description["settings"]["cors_origins"] == ["https://example.com"]
    assert description["settings"]["rate_limit"] == "100/minute"
    routes = description["routes"]
    assert [r["id"] for r in routes] == list(range(len(routes)))
    assert routes[1]["go_pattern"] == "/items/{item_id}"
    assert routes[3]["go_pattern"] == "/files/{rest...}"
    assert routes[2]["status_code"] == 201
    assert sys.path[0] == str(tmp_path)
    module = sys.modules[name]
    assert module.events == ["startup"]
    with pytest.raises(RuntimeError, match="frozen"):
        module.app.get("/late")(lambda: None)


def test_fingerprint_is_stable(write_app: Callable[[str], str], tmp_path: Path) -> None:
    first = json.loads(_dispatch.load(f"{write_app(APP_SOURCE)}:app", str(tmp_path)))
    second = json.loads(_dispatch.load(f"{write_app(APP_SOURCE)}:app", str(tmp_path)))
    assert first["fingerprint"] == second["fingerprint"]
    import hashlib

    canonical = json.dumps(first["routes"], sort_keys=True).encode()
    assert first["fingerprint"] == hashlib.sha256(canonical).hexdigest()


def test_handle_requests(write_app: Callable[[str], str], tmp_path: Path) -> None:
    _dispatch.load(f"{write_app(APP_SOURCE)}:app", str(tmp_path))
    assert call(0, "GET", "/hello") == (
        200,
        b"content-type: application/json\r\n",
        b'{"message":"hello"}',
    )
    assert (
        call(1, "GET", "/items/5", "q=a%20b", values=("5",))[2]
        == b'{"item_id":5,"q":"a b"}'
    )
    status, _, body = call(1, "GET", "/items/x", values=("x",))
    assert status == 422
    assert json.loads(body)["detail"][0]["loc"] == ["path", "item_id"]
    status, _, body = call(
        2,
        "POST",
        "/items",
        headers="host: h\r\nx-token: t\r\n",
        body=b'{"name": "n", "price": 1}',
    )
    assert (status, json.loads(body)) == (201, {"name": "n", "token": "t"})
    assert call(3, "GET", "/files/a/b", values=("a/b",))[2] == b'"a/b"'
    assert call(4, "GET", "/fail")[:1] == (403,)
    assert call(5, "GET", "/crash") == (
        500,
        b"content-type: application/json\r\n",
        b'{"detail":"Internal Server Error"}',
    )


def test_handle_never_raises(write_app: Callable[[str], str], tmp_path: Path) -> None:
    _dispatch.load(f"{write_app(APP_SOURCE)}:app", str(tmp_path))
    assert call(99, "GET", "/nope")[0] == 500
    assert call(1, "GET", "/items/5", values=())[0] == 500
    assert (
        _dispatch.handle(
            0, "GET", "/hello", "", "garbage-without-colon", b"", "", 0, "http", "r", ()
        )[0]
        == 200
    )


def test_load_without_startup_only_describes(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(APP_SOURCE)
    description = json.loads(_dispatch.load(f"{name}:app", str(tmp_path), False))
    assert len(description["routes"]) == 7
    assert sys.modules[name].events == []
    _dispatch.shutdown()
    assert sys.modules[name].events == []


def test_shutdown_runs_hooks_once(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(APP_SOURCE)
    _dispatch.load(f"{name}:app", str(tmp_path))
    _dispatch.shutdown()
    _dispatch.shutdown()
    assert sys.modules[name].events == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        (
            "{name}:missing",
            AttributeError,
            "module '{name}' has no attribute 'missing'",
        ),
        (
            "{name}:not_an_app",
            TypeError,
            "builtins.dict, not a gofastapi.GoFastAPI app",
        ),
        ("{name}", ValueError, "must look like 'module:attribute'"),
        ("no_such_module_xyz:app", ModuleNotFoundError, "no_such_module_xyz"),
    ],
    ids=["missing-attribute", "wrong-type", "bad-spec", "missing-module"],
)
def test_load_errors(
    write_app: Callable[[str], str],
    tmp_path: Path,
    spec: str,
    error: type[Exception],
    message: str,
) -> None:
    name = write_app(APP_SOURCE)
    with pytest.raises(error) as info:
        _dispatch.load(spec.format(name=name), str(tmp_path))
    assert message.format(name=name) in str(info.value)


def test_dotted_attribute(write_app: Callable[[str], str], tmp_path: Path) -> None:
    name = write_app(
        "from gofastapi import GoFastAPI\nclass holder:\n    app = GoFastAPI()\n"
    )
    assert (
        json.loads(_dispatch.load(f"{name}:holder.app", str(tmp_path)))["routes"] == []
    )


def test_startup_failure_raises_from_load(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(
        "from gofastapi import GoFastAPI\napp = GoFastAPI()\n"
        "@app.on_event('startup')\ndef boom():\n    raise RuntimeError('no database')\n"
    )
    with pytest.raises(RuntimeError, match="no database"):
        _dispatch.load(f"{name}:app", str(tmp_path))


def test_bad_signature_fails_at_load(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(
        "from gofastapi import GoFastAPI\napp = GoFastAPI()\n"
        "@app.get('/files/{name}.json')\ndef f(name: str):\n    return name\n"
    )
    with pytest.raises(ValueError, match="mixes text and a parameter"):
        _dispatch.load(f"{name}:app", str(tmp_path))


def test_async_app_through_handle(
    write_app: Callable[[str], str], tmp_path: Path
) -> None:
    name = write_app(
        "import asyncio\nfrom gofastapi import GoFastAPI\napp = GoFastAPI()\n"
        "@app.get('/a')\nasync def a():\n    await asyncio.sleep(0)\n    return {'async': True}\n"
    )
    _dispatch.load(f"{name}:app", str(tmp_path))
    for _ in range(3):
        assert call(0, "GET", "/a")[2] == b'{"async":true}'


def _request_log(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{")
    ]


def test_load_installs_json_logging(
    write_app: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    monkeypatch.setenv("GOFASTAPI_LOG_LEVEL", "debug")
    name = write_app(
        "import logging\nfrom gofastapi import GoFastAPI\napp = GoFastAPI()\nlog = logging.getLogger('shop')\n"
        "@app.get('/l')\ndef l():\n    log.info('selling', extra={'sku': 7})\n    return 1\n"
        "@app.get('/boom')\ndef boom():\n    raise ValueError('bad')\n"
    )
    _dispatch.load(f"{name}:app", str(tmp_path))
    assert root.level == logging.DEBUG
    call(0, "GET", "/l")
    call(1, "GET", "/boom")
    info, error = _request_log(capsys)[-2:]
    assert (
        info["level"] == "INFO"
        and info["msg"] == "selling"
        and info["logger"] == "shop"
    )
    assert info["request_id"] == "req-1" and info["sku"] == 7
    assert info["time"].endswith("Z")
    assert error["level"] == "ERROR" and error["logger"] == "gofastapi.error"
    assert error["request_id"] == "req-1" and "ValueError: bad" in error["traceback"]


@pytest.mark.parametrize(
    ("value", "debug"),
    [("1", True), ("true", True), ("0", False), ("", False)],
    ids=str,
)
def test_gofastapi_debug_env_forces_debug(
    write_app: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    debug: bool,
) -> None:
    monkeypatch.setenv("GOFASTAPI_DEBUG", value)
    name = write_app(APP_SOURCE.replace("raise SystemExit(1)", "raise KeyError('k')"))
    description = json.loads(_dispatch.load(f"{name}:app", str(tmp_path)))
    assert description["debug"] is debug
    status, _, body = call(5, "GET", "/crash")
    assert status == 500
    assert ("Traceback" in body.decode()) is debug
