"""Security helpers, dependencies, the seed's middleware and a SQLite resource (served as auth_deps:app).

Pure Python (no pydantic), so it loads in every runtime; the tests run it with
--workers 1 so module globals (the dependency counters) are one interpreter's.
The test sets:

- AUTH_SIDE_FILE: generator dependencies append their clean-up lines here;
- AUTH_DB: a SQLite database with a ``users (id INTEGER PRIMARY KEY, name TEXT)`` table.
"""

import logging
import os
import secrets
import sqlite3

from gofastapi import APIRouter, Depends, GoFastAPI, Header, HTTPException, Request
from gofastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer

app = GoFastAPI(title="auth-deps")

SIDE_FILE = os.environ["AUTH_SIDE_FILE"]
DB_PATH = os.environ["AUTH_DB"]
API_KEY = "k3y-for-e2e-tests-only"
BASIC_USER, BASIC_PASSWORD = "alice", "correct horse battery staple"

# --------------------------------------------------------------------------- the seed's middleware, verbatim

security_logger = logging.getLogger("gofastapi.security")


@app.middleware("request")
async def security_middleware(request, call_next):
    # Log suspicious requests
    if len(request.url.query) > 1000:
        security_logger.warning(
            "Suspicious long query string",
            extra={"ip": request.client.host, "query_length": len(request.url.query)},
        )
    response = await call_next(request)
    return response


# --------------------------------------------------------------------------- security helpers

bearer = HTTPBearer()
basic = HTTPBasic()
api_key_header = APIKeyHeader(name="X-API-Key")


@app.get("/bearer")
def bearer_route(creds=Depends(bearer)):
    # Never echo the credential itself: only its shape.
    return {"scheme": creds.scheme, "length": len(creds.credentials)}


@app.get("/basic")
def basic_route(creds=Depends(basic)):
    user_ok = secrets.compare_digest(creds.username.encode(), BASIC_USER.encode())
    password_ok = secrets.compare_digest(
        creds.password.encode(), BASIC_PASSWORD.encode()
    )
    if not (user_ok and password_ok):
        raise HTTPException(
            401, "Incorrect username or password", headers={"WWW-Authenticate": "Basic"}
        )
    return {"username": creds.username}


@app.get("/apikey")
def apikey_route(key: str = Depends(api_key_header)):
    if not secrets.compare_digest(key.encode(), API_KEY.encode()):
        raise HTTPException(403, "Invalid API key")
    return {"ok": True}


# --------------------------------------------------------------------------- dependencies

CALLS = {"common": 0, "uncached": 0}


def common():
    CALLS["common"] += 1
    return CALLS["common"]


def uncached():
    CALLS["uncached"] += 1
    return CALLS["uncached"]


def first(c: int = Depends(common)):
    return {"seen": c}


def second(f: dict = Depends(first), c: int = Depends(common)):
    return {"first": f, "seen": c}


@app.get("/deps/nested")
def nested(
    s: dict = Depends(second),
    c: int = Depends(common),
    u1: int = Depends(uncached, use_cache=False),
    u2: int = Depends(uncached, use_cache=False),
):
    return {"second": s, "common": c, "u1": u1, "u2": u2, "calls": dict(CALLS)}


def require_key(request: Request, x_key: str | None = Header(None)):
    if x_key != "open-sesame":
        raise HTTPException(403, "bad key")
    request.state.checks = [*getattr(request.state, "checks", []), "key"]


def require_role(request: Request, x_role: str | None = Header(None)):
    if x_role != "admin":
        raise HTTPException(401, "bad role")
    request.state.checks = [*getattr(request.state, "checks", []), "role"]


@app.get("/deps/decorated", dependencies=[Depends(require_key)])
def decorated(request: Request):
    return {"checks": request.state.checks}


router = APIRouter(prefix="/admin", dependencies=[Depends(require_role)])


@router.get("/panel", dependencies=[Depends(require_key)])
def panel(request: Request):
    return {"checks": request.state.checks}


@router.get("/plain")
def admin_plain(request: Request):
    return {"checks": request.state.checks}


app.include_router(router)


def _side(line: str) -> None:
    with open(SIDE_FILE, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def resource(tag: str = ""):
    _side(f"open {tag}")
    try:
        yield {"tag": tag}
    except Exception as exc:
        _side(f"error {tag} {type(exc).__name__}")
        raise
    finally:
        _side(f"close {tag}")


@app.get("/deps/yield")
def uses_resource(res: dict = Depends(resource)):
    _side(f"handler {res['tag']}")
    return {"tag": res["tag"]}


@app.get("/deps/yield-raises")
def uses_resource_then_raises(res: dict = Depends(resource), status: int = 409):
    _side(f"handler {res['tag']}")
    if status == 500:
        raise RuntimeError("handler failed after the dependency yielded")
    raise HTTPException(status, "conflict")


# --------------------------------------------------------------------------- SQLite, bound parameters only


def db():
    conn = sqlite3.connect(DB_PATH, timeout=5)
    try:
        yield conn
    finally:
        conn.close()


@app.get("/users/search")
def search_users(name: str, conn: sqlite3.Connection = Depends(db)):
    rows = conn.execute("SELECT id, name FROM users WHERE name = ?", (name,)).fetchall()
    return [{"id": r[0], "name": r[1]} for r in rows]


@app.get("/users/{user_id}")
def read_user(user_id: int, conn: sqlite3.Connection = Depends(db)):
    row = conn.execute("SELECT id, name FROM users WHERE id = ?", (user_id,)).fetchone()
    if row is None:
        raise HTTPException(404, "User not found")
    return {"id": row[0], "name": row[1]}
