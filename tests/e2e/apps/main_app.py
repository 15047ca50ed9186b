"""The app most end-to-end tests run against: served as main_app:app.

Every route exercises one piece of the public API; handlers echo what they
received (with the Python type where the conversion matters) so that the tests
can check the conversion happened inside the interpreter.
"""

import asyncio
import dataclasses
import enum
import logging
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field

from gofastapi import (
    APIRouter,
    Body,
    Cookie,
    GoFastAPI,
    Header,
    HTMLResponse,
    HTTPException,
    JSONResponse,
    Path,
    PlainTextResponse,
    Query,
    RedirectResponse,
    Request,
    Response,
)

# "4KB" is 4000 or 4096 bytes depending on the convention; tests stay clear of both.
app = GoFastAPI(title="e2e", version="9.9.9", max_request_size="4KB")
log = logging.getLogger("e2e.app")


def identity() -> dict:
    """Which interpreter (and OS thread) runs this code."""
    try:
        import _interpreters

        interp = _interpreters.get_current()[0]
    except Exception:  # noqa: BLE001 - the module may be refused by the import guard
        interp = None
    return {"interp": interp, "modules": id(sys.modules), "thread": threading.get_native_id()}


# --------------------------------------------------------------------------- basics


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/whoami")
def whoami():
    return identity()


@app.get("/cpu")
def cpu(n: int = Query(ge=1, le=200_000_000)):
    """Pure-Python CPU work: n loop iterations, with wall and thread-CPU times."""
    start, cpu_start = time.time(), time.thread_time()
    total = 0
    for i in range(n):
        total += i & 7
    end, cpu_end = time.time(), time.thread_time()
    return {**identity(), "start": start, "end": end, "cpu": cpu_end - cpu_start, "total": total}


@app.get("/slow")
def slow(secs: float = Query(ge=0, le=10), tag: str | None = None):
    if tag is not None:
        log.warning("slow-start %s", tag)  # lets a test know the handler is running
    time.sleep(secs)
    return {"slept": secs}


@app.get("/sleepwho")
def sleepwho(secs: float = Query(ge=0, le=5)):
    time.sleep(secs)
    return identity()


@app.get("/log")
def log_line(msg: str):
    log.warning(msg)
    return {"logged": msg}


@dataclass
class EchoBody:
    token: str
    n: int


@app.post("/echo/{token}")
def echo(token: str, q: str, body: EchoBody, x_token: str = Header()):
    return {"path": token, "query": q, "header": x_token, "body": body.token, "n": body.n, **identity()}


# --------------------------------------------------------------------------- path parameters


class Color(str, enum.Enum):
    red = "red"
    green = "green"
    blue = "blue"


def typed(v):
    return {"v": v, "type": type(v).__name__}


@app.get("/path/int/{v}")
def path_int(v: int):
    return typed(v)


@app.get("/path/float/{v}")
def path_float(v: float):
    return typed(v)


@app.get("/path/str/{v}")
def path_str(v: str):
    return typed(v)


@app.get("/path/bool/{v}")
def path_bool(v: bool):
    return typed(v)


@app.get("/path/uuid/{v}")
def path_uuid(v: uuid.UUID):
    return {"v": str(v), "type": type(v).__name__, "version": v.version}


@app.get("/path/enum/{v}")
def path_enum(v: Color):
    return {"v": v.value, "type": type(v).__name__, "name": v.name}


@app.get("/path/two/{user_id}/items/{item_id}")
def path_two(user_id: int, item_id: str):
    return {"user_id": user_id, "item_id": item_id}


@app.get("/files/{file_path:path}")
def files(file_path: str):
    return {"file_path": file_path}


# --------------------------------------------------------------------------- query parameters


@app.get("/query/defaults")
def query_defaults(q: str | None = None, limit: int = 10, ratio: float = 0.5, flag: bool = False):
    return {"q": q, "limit": limit, "ratio": ratio, "flag": flag}


@app.get("/query/required")
def query_required(needed: int):
    return {"needed": needed}


@app.get("/query/list")
def query_list(tag: list[str] = Query([]), n: list[int] | None = Query(None)):
    return {"tag": tag, "n": n}


# --------------------------------------------------------------------------- markers


@app.get("/markers/query")
def markers_query(q: str = Query(alias="item-query", min_length=2, max_length=5, pattern="^[a-z]+$")):
    return {"q": q}


@app.get("/markers/numbers")
def markers_numbers(n: int = Query(ge=1, le=10), x: float = Query(0.5, gt=0, lt=1)):
    return {"n": n, "x": x}


@app.get("/markers/path/{item_id}")
def markers_path(item_id: int = Path(ge=1, le=1000)):
    return {"item_id": item_id}


@app.get("/markers/header")
def markers_header(
    x_token: str = Header(max_length=8),
    user_agent: str | None = Header(None),
    x_tag: list[str] | None = Header(None),
    auth: str | None = Header(None, alias="X-Custom-Auth"),
):
    return {"x_token": x_token, "user_agent": user_agent, "x_tag": x_tag, "auth": auth}


@app.get("/markers/cookie")
def markers_cookie(session_id: str | None = Cookie(None), count: int = Cookie(0, alias="visit_count", ge=0)):
    return {"session_id": session_id, "count": count}


@app.post("/markers/body")
def markers_body(
    name: str = Body(min_length=2),
    quantity: int = Body(1, ge=1, le=100),
    note: str | None = Body(None, alias="the-note"),
):
    return {"name": name, "quantity": quantity, "note": note}


@app.post("/markers/body-whole")
def markers_body_whole(payload: dict = Body()):
    return {"payload": payload}


# --------------------------------------------------------------------------- request and response objects


@app.api_route("/request/info", methods=["GET", "POST"])
async def request_info(request: Request):
    body = await request.body()
    data = await request.json() if body else None
    return {
        "method": request.method,
        "url": str(request.url),
        "path": request.url.path,
        "query_a": request.query_params.getlist("a"),
        "query_b": request.query_params.get("b"),
        "multi": request.headers.getlist("X-Multi"),
        "custom_upper": request.headers["X-CUSTOM-HEADER"],
        "custom_lower": request.headers.get("x-custom-header"),
        "has_custom": "X-Custom-Header" in request.headers,
        "cookies": dict(request.cookies),
        "client_host": request.client.host,
        "body": body.decode("latin-1"),
        "json": data,
        "request_id": request.headers.get("x-request-id"),
    }


@app.get("/response/param")
def response_param(response: Response):
    response.headers["X-Extra"] = "yes"
    response.set_cookie("sid", "abc123", httponly=True)
    response.status_code = 201
    return {"ok": True}


# --------------------------------------------------------------------------- bodies


@dataclass
class Address:
    street: str
    city: str = "Paris"


@dataclass
class User:
    name: str
    age: int
    address: Address
    tags: list[str] = field(default_factory=list)
    nickname: str | None = None
    friends: list[Address] = field(default_factory=list)


@app.post("/body/dict")
def body_dict(data: dict):
    return {"received": data}


@app.post("/body/list")
def body_list(data: list[int] = Body()):
    return {"sum": sum(data), "len": len(data)}


@app.post("/body/user")
def body_user(user: User):
    return {
        "user": user,
        "is_dataclass": dataclasses.is_dataclass(user) and type(user).__name__,
        "address_type": type(user.address).__name__,
        "friend_types": [type(f).__name__ for f in user.friends],
        "age_type": type(user.age).__name__,
    }


@app.post("/body/user/echo")
def body_user_echo(user: User):
    return user


# --------------------------------------------------------------------------- return values


@app.get("/ret/dict")
def ret_dict():
    return {"a": 1, "b": [1, 2], "c": None}


@app.get("/ret/list")
def ret_list():
    return [1, "two", {"three": 3}]


@app.get("/ret/none")
def ret_none():
    return None


@app.get("/ret/str")
def ret_str():
    return "hello"


@app.get("/ret/int")
def ret_int():
    return 42


@app.get("/ret/dataclass")
def ret_dataclass():
    return Address(street="Rue X")


@app.get("/ret/response")
def ret_response():
    return Response(content=b"raw-bytes", media_type="application/octet-stream", headers={"X-Raw": "1"}, status_code=203)


@app.get("/ret/json")
def ret_json():
    return JSONResponse({"a": 1}, status_code=202, headers={"X-J": "1"})


@app.get("/ret/plain")
def ret_plain():
    return PlainTextResponse("plain text")


@app.get("/ret/html")
def ret_html():
    return HTMLResponse("<h1>hi</h1>")


@app.get("/ret/redirect")
def ret_redirect():
    return RedirectResponse("/ret/dict")


@app.get("/ret/redirect-301")
def ret_redirect_301():
    return RedirectResponse(url="/ret/list", status_code=301)


@app.get("/ret/unserializable")
def ret_unserializable():
    return {"obj": object()}


@app.get("/ret/bad-header")
def ret_bad_header():
    return Response(content="x", headers={"X-Bad": "line\r\nInjected: yes"})


# --------------------------------------------------------------------------- errors


@app.get("/errors/http")
def errors_http():
    raise HTTPException(status_code=418, detail="teapot", headers={"X-Error": "tea"})


@app.get("/errors/http-dict")
def errors_http_dict():
    raise HTTPException(status_code=409, detail={"code": 42, "why": "conflict"})


@app.get("/errors/http-default")
def errors_http_default():
    raise HTTPException(status_code=404)


@app.get("/boom")
def boom(msg: str = "boom", secs: float = Query(0, ge=0, le=5)):
    time.sleep(secs)
    raise ValueError(msg)


@app.get("/boom-async")
async def boom_async(msg: str = "boom-async"):
    await asyncio.sleep(0)
    raise ValueError(msg)


# --------------------------------------------------------------------------- async


@app.get("/async/sleep")
async def async_sleep():
    await asyncio.sleep(0.01)
    return {"async": True}


@app.get("/async/gather")
async def async_gather(x: int = 2):
    async def double(v):
        await asyncio.sleep(0.005)
        return v * 2

    return {"results": list(await asyncio.gather(double(x), double(x + 1)))}


# --------------------------------------------------------------------------- methods and status codes


@app.put("/methods/thing/{tid}")
def put_thing(tid: int, data: dict):
    return {"method": "PUT", "tid": tid, "data": data}


@app.patch("/methods/thing/{tid}")
def patch_thing(tid: int, data: dict):
    return {"method": "PATCH", "tid": tid, "data": data}


@app.delete("/methods/thing/{tid}", status_code=204)
def delete_thing(tid: int):
    return None


@app.options("/methods/thing/{tid}")
def options_thing(tid: int):
    return Response(status_code=200, headers={"X-Options": str(tid)})


@app.head("/methods/explicit-head")
def explicit_head():
    return Response(headers={"X-Head": "explicit"})


@app.api_route("/methods/multi", methods=["GET", "POST", "PUT"])
def multi(request: Request):
    return {"method": request.method}


@app.post("/status/created", status_code=201)
def status_created():
    return {"created": True}


@app.get("/status/accepted", status_code=202)
def status_accepted():
    return {"accepted": True}


# --------------------------------------------------------------------------- router

router = APIRouter(prefix="/api/v1")


@router.get("/things/{thing_id}")
def get_thing(thing_id: int):
    return {"thing_id": thing_id, "router": "v1"}


@router.post("/things", status_code=201)
def create_thing(data: dict):
    return {"created": data}


app.include_router(router)
