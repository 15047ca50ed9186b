"""End-to-end: authentication, dependencies, the seed's security middleware and SQL injection.

- JWT at the edge (protocol.md §2.1): apps/auth_jwt.py runs in own-GIL
  sub-interpreters (--runtime subinterpreters), where PyJWT's RS256 cannot load,
  so every token is verified by Go. Tokens are minted here with PyJWT and
  forged by hand; RS256 keys are made here with cryptography and reach the app
  through files named by environment variables.
- HTTPBearer, HTTPBasic, APIKeyHeader, Depends (nested, cached, declared on the
  decorator and the router, generators), the seed's ``@app.middleware("request")``
  and the seed's SQL-injection test: apps/auth_deps.py on one worker.
- examples/secure/app.py under the default runtime: login, then the JWT route.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import sqlite3
import time
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .conftest import HTTP_TIMEOUT, REPO, Server, assert_validation_errors, running

AUDIENCE = "gofastapi-e2e"
ISSUER = "https://issuer.e2e.invalid"
LEEWAY = 30
USER_ID = 4242
CLAIMS_HEADER = "x-gofastapi-jwt-claims"


# --------------------------------------------------------------------------- helpers


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def forge_hmac(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A JWS signed with HMAC-SHA256 under any key (PyJWT refuses PEM keys as HMAC secrets)."""
    signing_input = f"{b64url_json(header)}.{b64url_json(payload)}"
    sig = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(sig)}"


def unsigned(payload: dict[str, Any], alg: str = "none") -> str:
    return f"{b64url_json({'alg': alg, 'typ': 'JWT'})}.{b64url_json(payload)}."


def tamper_signature(token: str) -> str:
    head, body, sig = token.split(".")
    i = len(sig) // 2  # a middle character: the last one may only hold padding bits
    sig = sig[:i] + ("A" if sig[i] != "A" else "B") + sig[i + 1 :]
    return f"{head}.{body}.{sig}"


def tamper_payload(token: str, **changes: Any) -> str:
    head, body, sig = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    return f"{head}.{b64url_json(payload)}.{sig}"


def get(srv: Server, path: str, **kwargs: Any) -> requests.Response:
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.get(srv.url(path), **kwargs)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def log_text(srv: Server) -> str:
    return "\n".join(srv.logs())


def assert_never_leaked(srv: Server, r: requests.Response, token: str) -> None:
    """The token appears neither in the response (body, headers) nor in any log line."""
    assert token not in r.text, r.text
    assert all(token not in v for v in r.headers.values()), r.headers
    assert token not in log_text(srv), "the token was logged"
    sig = token.rsplit(".", 1)[-1]
    if len(sig) >= 16:
        assert sig not in log_text(srv), "the token's signature was logged"


def assert_auth_failure_logged(
    srv: Server, r: requests.Response, token: str | None = None
) -> list[dict[str, Any]]:
    """gofastapi.security WARN lines with event auth_failed, the client and this request's id.

    The Go edge and Python may each log one; every such line must be well formed
    and free of the token. ``client`` is the peer host (Go's edge writes host:port).
    """
    rid = r.headers.get("X-Request-ID")
    assert rid, r.headers

    def mine(rec: dict[str, Any]) -> bool:
        return rec.get("event") == "auth_failed" and rec.get("request_id") == rid

    assert srv.wait_for_log(mine, timeout=5) is not None, (
        f"no auth_failed line for request {rid}:\n" + log_text(srv)[-3000:]
    )
    time.sleep(0.05)  # let a second (Go or Python) line arrive too
    recs = [rec for rec in srv.json_logs() if mine(rec)]
    for rec in recs:
        assert rec.get("logger") == "gofastapi.security", rec
        assert rec.get("level") == "WARN", rec
        client = str(rec.get("client"))
        assert client == "127.0.0.1" or client.startswith("127.0.0.1:"), rec
        assert rec.get("reason"), rec
        if token is not None:
            assert token not in json.dumps(rec), rec
    return recs


# --------------------------------------------------------------------------- JWT keys and server


class Keys:
    def __init__(self, root: Path) -> None:
        self.secret = secrets.token_urlsafe(
            48
        )  # 64 characters: long enough for HS256..HS512
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.private_pem = self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_private_pem = other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        self.secret_file = root / "hs256.secret"
        self.secret_file.write_text(self.secret + "\n")
        self.public_file = root / "rs256.pub.pem"
        self.public_file.write_bytes(self.public_pem)


@pytest.fixture(scope="module")
def keys(tmp_path_factory) -> Keys:
    return Keys(tmp_path_factory.mktemp("jwt-keys"))


@pytest.fixture(scope="module")
def jwt_server(keys):
    env = {
        "JWT_SECRET_FILE": str(keys.secret_file),
        "JWT_PUBLIC_KEY_FILE": str(keys.public_file),
    }
    with running(
        "auth_jwt:app", args=["--runtime", "subinterpreters", "--workers", "2"], env=env
    ) as srv:
        assert srv.serving["runtime"] == "subinterpreters", srv.serving
        yield srv


def claims(**over: Any) -> dict[str, Any]:
    """Valid claims; an override of None removes the claim."""
    now = int(time.time())
    c: dict[str, Any] = {
        "user_id": USER_ID,
        "sub": str(USER_ID),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
    }
    for k, v in over.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


FAMILIES = {
    "HS256": {"path": "/hs/me"},
    "RS256": {"path": "/rs/me"},
}


def mint(
    keys: Keys, family: str, payload: dict[str, Any], alg: str | None = None
) -> str:
    alg = alg or family
    key = keys.secret if alg.startswith("HS") else keys.private_pem
    return jwt.encode(payload, key, algorithm=alg)


def _now() -> int:
    return int(time.time())


# Each attack builds a token for the family's route; every one must be answered 401.
ATTACKS: dict[str, Callable[[Keys, str], str]] = {
    "alg-none": lambda k, f: unsigned(claims()),
    "alg-none-capitalised": lambda k, f: unsigned(claims(), alg="None"),
    "alg-none-with-signature": lambda k, f: unsigned(claims())
    + mint(k, f, claims()).rsplit(".", 1)[1],
    "alg-not-in-list": lambda k, f: mint(
        k, f, claims(), alg="HS512" if f == "HS256" else "RS512"
    ),
    "alg-not-in-list-ps256": lambda k, f: jwt.encode(
        claims(), k.private_pem, algorithm="PS256"
    ),
    "key-confusion": lambda k, f: (
        # HS256 token whose HMAC secret is the RSA public PEM, sent to both routes
        forge_hmac({"alg": "HS256", "typ": "JWT"}, claims(), k.public_pem)
    ),
    "key-confusion-no-newline": lambda k, f: (
        forge_hmac({"alg": "HS256", "typ": "JWT"}, claims(), k.public_pem.rstrip(b"\n"))
    ),
    "other-family-token": lambda k, f: (
        # the other route's legitimate algorithm and key
        jwt.encode(claims(), k.private_pem, algorithm="RS256")
        if f == "HS256"
        else jwt.encode(claims(), k.secret, algorithm="HS256")
    ),
    "wrong-key": lambda k, f: (
        jwt.encode(claims(), secrets.token_urlsafe(48), algorithm="HS256")
        if f == "HS256"
        else jwt.encode(claims(), k.other_private_pem, algorithm="RS256")
    ),
    "expired": lambda k, f: mint(k, f, claims(exp=_now() - 120, iat=_now() - 600)),
    "expired-just-beyond-leeway": lambda k, f: mint(
        k, f, claims(exp=_now() - LEEWAY - 5, iat=_now() - 600)
    ),
    "not-yet-valid-nbf": lambda k, f: mint(k, f, claims(nbf=_now() + 120)),
    "issued-in-the-future": lambda k, f: mint(k, f, claims(iat=_now() + 120)),
    "wrong-audience": lambda k, f: mint(k, f, claims(aud="someone-else")),
    "wrong-audience-list": lambda k, f: mint(k, f, claims(aud=["a", "b"])),
    "missing-audience": lambda k, f: mint(k, f, claims(aud=None)),
    "wrong-issuer": lambda k, f: mint(k, f, claims(iss="https://evil.invalid")),
    "missing-issuer": lambda k, f: mint(k, f, claims(iss=None)),
    "missing-required-user_id": lambda k, f: mint(k, f, claims(user_id=None)),
    "missing-required-exp": lambda k, f: mint(k, f, claims(exp=None)),
    "null-required-claim": lambda k, f: mint(k, f, {**claims(), "user_id": None}),
    "non-numeric-exp": lambda k, f: mint(k, f, claims(exp="tomorrow")),
    "non-string-sub": lambda k, f: mint(k, f, claims(sub=123)),
    "tampered-signature": lambda k, f: tamper_signature(mint(k, f, claims())),
    "tampered-payload": lambda k, f: tamper_payload(mint(k, f, claims()), user_id=1),
    "stripped-signature": lambda k, f: mint(k, f, claims()).rsplit(".", 1)[0] + ".",
    "garbage": lambda k, f: "garbage-" + uuid.uuid4().hex,
    "garbage-three-parts": lambda k,
    f: f"{uuid.uuid4().hex}.{uuid.uuid4().hex}.{uuid.uuid4().hex}",
    "payload-not-an-object": lambda k, f: (
        forge_hmac({"alg": "HS256", "typ": "JWT"}, [USER_ID], k.secret.encode())
        if f == "HS256"  # type: ignore[arg-type]
        else f"{b64url_json({'alg': 'RS256'})}.{b64url(b'[4242]')}.{uuid.uuid4().hex}"
    ),
}


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_jwt_attack_is_refused(jwt_server, keys, family, attack):
    token = ATTACKS[attack](keys, family)
    r = get(jwt_server, FAMILIES[family]["path"], headers=bearer(token))
    assert r.status_code == 401, f"{attack} on {family}: {r.status_code} {r.text}"
    assert r.json()["detail"] in (
        "Invalid or expired token",
        "Not authenticated",
    ), r.text
    assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), r.headers
    assert str(USER_ID) not in r.text
    assert_auth_failure_logged(jwt_server, r, token)
    assert_never_leaked(jwt_server, r, token)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_valid_jwt_is_accepted(jwt_server, keys, family):
    token = mint(keys, family, claims())
    r = get(jwt_server, FAMILIES[family]["path"], headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": USER_ID, "alg": family}
    # scheme is case-insensitive
    r = get(
        jwt_server,
        FAMILIES[family]["path"],
        headers={"Authorization": f"bearer {token}"},
    )
    assert r.status_code == 200, r.text
    assert_never_leaked(jwt_server, r, token)


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize(
    "case",
    ["exp-within-leeway", "nbf-within-leeway", "iat-within-leeway", "audience-in-list"],
)
def test_leeway_and_audience_list_are_honoured(jwt_server, keys, family, case):
    now = _now()
    over = {
        "exp-within-leeway": {"exp": now - 10, "iat": now - 600},
        "nbf-within-leeway": {"nbf": now + 10},
        "iat-within-leeway": {"iat": now + 10},
        "audience-in-list": {"aud": ["other", AUDIENCE]},
    }[case]
    r = get(
        jwt_server,
        FAMILIES[family]["path"],
        headers=bearer(mint(keys, family, claims(**over))),
    )
    assert r.status_code == 200, f"{case}: {r.status_code} {r.text}"
    assert r.json()["user_id"] == USER_ID


@pytest.mark.parametrize("family", list(FAMILIES))
def test_missing_token_is_401_with_bearer_challenge(jwt_server, family):
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ):
        r = get(jwt_server, FAMILIES[family]["path"], headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json() == {"detail": "Not authenticated"}, r.text
        assert r.headers.get("WWW-Authenticate") == "Bearer", r.headers
        assert_auth_failure_logged(jwt_server, r)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_client_sent_claims_header_never_authenticates(jwt_server, keys, family):
    path = FAMILIES[family]["path"]
    forged = json.dumps(
        {"user_id": 1, "sub": "1", "iss": ISSUER, "aud": AUDIENCE, "exp": _now() + 300}
    )
    # No token, a forged claims header.
    r = get(jwt_server, path, headers={CLAIMS_HEADER: forged})
    assert r.status_code == 401, r.text
    assert_auth_failure_logged(jwt_server, r)
    # Mixed-case header name.
    r = get(jwt_server, path, headers={"X-GoFastAPI-JWT-Claims": forged})
    assert r.status_code == 401, r.text
    # An invalid token plus a forged claims header.
    bad = tamper_signature(mint(keys, family, claims()))
    r = get(jwt_server, path, headers={**bearer(bad), CLAIMS_HEADER: forged})
    assert r.status_code == 401, r.text
    # A valid token plus a forged header: the token's claims win.
    good = mint(keys, family, claims())
    r = get(jwt_server, path, headers={**bearer(good), CLAIMS_HEADER: forged})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == USER_ID


def test_client_sent_claims_header_is_stripped_on_every_route(jwt_server):
    import http.client

    conn = http.client.HTTPConnection(
        jwt_server.host, jwt_server.port, timeout=HTTP_TIMEOUT
    )
    try:
        conn.putrequest("GET", "/open/headers")
        conn.putheader(CLAIMS_HEADER, '{"user_id": 1}')
        conn.putheader("X-GoFastAPI-JWT-Claims", '{"user_id": 2}')
        conn.endheaders()
        resp = conn.getresponse()
        body = json.loads(resp.read())
    finally:
        conn.close()
    assert resp.status == 200, body
    assert body == {"claims_header": None}


def test_jwt_app_imports_neither_jwt_nor_pydantic_at_module_level():
    # The premise of the edge tests: the app loads in a sub-interpreter because it
    # leaves PyJWT (whose cryptography backend refuses sub-interpreters) to Go.
    source = (Path(__file__).parent / "apps" / "auth_jwt.py").read_text()
    for line in source.splitlines():
        assert not line.startswith(
            (
                "import jwt",
                "from jwt",
                "import pydantic",
                "from pydantic",
                "import cryptography",
                "from cryptography",
            )
        ), line


# --------------------------------------------------------------------------- auth_deps: helpers, dependencies, middleware, SQL


@pytest.fixture(scope="module")
def deps_paths(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("auth-deps")
    db = root / "users.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO users (id, name) VALUES (?, ?)",
            [(1, "alice"), (2, "bob"), (3, "carol")],
        )
    conn.close()
    side = root / "side.log"
    side.write_text("")
    return {"db": db, "side": side}


@pytest.fixture(scope="module")
def deps_server(deps_paths):
    env = {"AUTH_SIDE_FILE": str(deps_paths["side"]), "AUTH_DB": str(deps_paths["db"])}
    with running("auth_deps:app", args=["--workers", "1"], env=env) as srv:
        yield srv


def side_lines(paths: dict[str, Path], tag: str) -> list[str]:
    return [
        line
        for line in paths["side"].read_text().splitlines()
        if line.split(" ")[1:2] == [tag]
    ]


def wait_side(
    paths: dict[str, Path], tag: str, needle: str, timeout: float = 3.0
) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        lines = side_lines(paths, tag)
        if (
            any(line.startswith(needle) for line in lines)
            or time.monotonic() >= deadline
        ):
            return lines
        time.sleep(0.02)


@pytest.mark.parametrize(
    "authorization",
    [None, "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc", "Bearerabc"],
    ids=[
        "missing",
        "basic-scheme",
        "no-token",
        "empty-token",
        "other-scheme",
        "no-space",
    ],
)
def test_http_bearer_refuses_missing_or_malformed(deps_server, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    r = get(deps_server, "/bearer", headers=headers)
    assert r.status_code == 401, r.text
    assert r.json() == {"detail": "Not authenticated"}
    assert r.headers.get("WWW-Authenticate") == "Bearer", r.headers
    assert_auth_failure_logged(deps_server, r)


def test_http_bearer_accepts_a_bearer_token(deps_server):
    token = "opaque-" + uuid.uuid4().hex
    for scheme in ("Bearer", "bearer", "BEARER"):
        r = get(deps_server, "/bearer", headers={"Authorization": f"{scheme} {token}"})
        assert r.status_code == 200, r.text
        assert r.json() == {"scheme": scheme, "length": len(token)}
    assert token not in log_text(deps_server)


def test_http_basic(deps_server):
    r = get(deps_server, "/basic")
    assert r.status_code == 401 and r.json() == {"detail": "Not authenticated"}, r.text
    assert r.headers.get("WWW-Authenticate") == "Basic", r.headers
    assert_auth_failure_logged(deps_server, r)
    for bad in (
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
    ):
        r = get(deps_server, "/basic", headers={"Authorization": bad})
        assert r.status_code == 401, (bad, r.text)
        assert r.json() == {"detail": "Invalid authentication credentials"}, r.text
        assert r.headers.get("WWW-Authenticate") == "Basic", r.headers
        assert_auth_failure_logged(deps_server, r)
    r = get(deps_server, "/basic", auth=("alice", "wrong password"))
    assert r.status_code == 401 and r.json() == {
        "detail": "Incorrect username or password"
    }, r.text
    assert "wrong password" not in log_text(deps_server)
    r = get(deps_server, "/basic", auth=("alice", "correct horse battery staple"))
    assert r.status_code == 200 and r.json() == {"username": "alice"}, r.text
    assert "correct horse battery staple" not in log_text(deps_server)


def test_api_key_header(deps_server):
    r = get(deps_server, "/apikey")
    assert r.status_code == 403 and r.json() == {"detail": "Not authenticated"}, r.text
    assert_auth_failure_logged(deps_server, r)
    r = get(deps_server, "/apikey", headers={"X-API-Key": "wrong-key"})
    assert r.status_code == 403 and r.json() == {"detail": "Invalid API key"}, r.text
    r = get(deps_server, "/apikey", headers={"x-api-key": "k3y-for-e2e-tests-only"})
    assert r.status_code == 200 and r.json() == {"ok": True}, r.text
    assert "k3y-for-e2e-tests-only" not in log_text(deps_server)


def test_nested_dependencies_are_cached_once_per_request(deps_server):
    first = get(deps_server, "/deps/nested")
    second = get(deps_server, "/deps/nested")
    assert first.status_code == 200 and second.status_code == 200, (
        first.text,
        second.text,
    )
    for r in (first, second):
        body = r.json()
        c = body["common"]
        # common() ran once: the handler, first() and second() all saw the same value.
        assert body["second"] == {"first": {"seen": c}, "seen": c}, body
        assert body["calls"]["common"] == c, body
        # use_cache=False runs the dependency again.
        assert body["u2"] == body["u1"] + 1, body
    assert second.json()["common"] == first.json()["common"] + 1, (
        first.json(),
        second.json(),
    )
    assert second.json()["u1"] == first.json()["u2"] + 1


def test_dependencies_on_the_decorator_and_the_router(deps_server):
    assert get(deps_server, "/deps/decorated").status_code == 403
    r = get(deps_server, "/deps/decorated", headers={"X-Key": "open-sesame"})
    assert r.status_code == 200 and r.json() == {"checks": ["key"]}, r.text

    assert get(deps_server, "/admin/plain").status_code == 401
    r = get(deps_server, "/admin/plain", headers={"X-Role": "admin"})
    assert r.status_code == 200 and r.json() == {"checks": ["role"]}, r.text

    assert (
        get(deps_server, "/admin/panel", headers={"X-Role": "admin"}).status_code == 403
    )
    assert (
        get(deps_server, "/admin/panel", headers={"X-Key": "open-sesame"}).status_code
        == 401
    )
    r = get(
        deps_server, "/admin/panel", headers={"X-Role": "admin", "X-Key": "open-sesame"}
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "checks": ["role", "key"]
    }, r.text  # router dependencies first, as FastAPI


def test_generator_dependency_cleanup_runs_after_the_response(deps_server, deps_paths):
    tag = uuid.uuid4().hex
    r = get(deps_server, "/deps/yield", params={"tag": tag})
    assert r.status_code == 200 and r.json() == {"tag": tag}, r.text
    lines = wait_side(deps_paths, tag, "close")
    assert lines == [f"open {tag}", f"handler {tag}", f"close {tag}"], lines


@pytest.mark.parametrize(
    ("status", "exc"),
    [(409, "HTTPException"), (500, "RuntimeError")],
    ids=["http-exception", "unhandled"],
)
def test_generator_dependency_cleanup_runs_when_the_handler_raised(
    deps_server, deps_paths, status, exc
):
    tag = uuid.uuid4().hex
    r = get(deps_server, "/deps/yield-raises", params={"tag": tag, "status": status})
    assert r.status_code == status, r.text
    if status == 500:
        assert r.json() == {"detail": "Internal Server Error"}
    else:
        assert r.json() == {"detail": "conflict"}
    lines = wait_side(deps_paths, tag, "close")
    assert f"close {tag}" in lines, lines
    assert lines[:2] == [f"open {tag}", f"handler {tag}"], lines
    assert (
        f"error {tag} {exc}" in lines
    ), lines  # the handler's exception reached the generator
    # The single worker still serves, its state intact.
    assert get(deps_server, "/deps/nested").status_code == 200


def test_seed_security_middleware_logs_long_queries(deps_server):
    query = "name=alice&pad=" + "a" * 1200
    r = requests.get(deps_server.url("/users/search?" + query), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json() == [{"id": 1, "name": "alice"}]
    rid = r.headers["X-Request-ID"]
    rec = deps_server.wait_for_log(
        lambda rec: rec.get("msg") == "Suspicious long query string"
        and rec.get("request_id") == rid,
        timeout=5,
    )
    assert rec is not None, log_text(deps_server)[-3000:]
    assert rec["logger"] == "gofastapi.security", rec
    assert rec["level"] == "WARN", rec
    assert rec["ip"] == "127.0.0.1", rec
    assert rec["query_length"] == len(query), rec
    # A short query is not logged.
    r = get(deps_server, "/users/search", params={"name": "bob"})
    assert r.status_code == 200
    rid = r.headers["X-Request-ID"]
    time.sleep(0.2)
    assert not [
        rec
        for rec in deps_server.json_logs()
        if rec.get("request_id") == rid
        and rec.get("msg") == "Suspicious long query string"
    ]


def user_rows(db: Path) -> list[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, name FROM users ORDER BY id").fetchall()
    conn.close()
    return rows


SEED_ROWS = [(1, "alice"), (2, "bob"), (3, "carol")]


def test_seed_sql_injection_protection(deps_server, deps_paths):
    r = get(deps_server, "/users/2")
    assert r.status_code == 200 and r.json() == {"id": 2, "name": "bob"}, r.text

    malicious_input = "'; DROP TABLE users; --"
    r = requests.get(
        deps_server.url("/users/" + urllib.parse.quote(malicious_input, safe="")),
        timeout=HTTP_TIMEOUT,
    )
    # Should not succeed
    assert r.status_code in [400, 422], r.text
    if r.status_code == 422:
        assert_validation_errors(
            r, ("int_parsing", ["path", "user_id"], malicious_input)
        )
    # Database should still exist
    assert user_rows(deps_paths["db"]) == SEED_ROWS

    for probe in (
        "1 OR 1=1",
        "1; DELETE FROM users",
        "1 UNION SELECT 1, sqlite_version()",
    ):
        r = requests.get(
            deps_server.url("/users/" + urllib.parse.quote(probe, safe="")),
            timeout=HTTP_TIMEOUT,
        )
        assert r.status_code in (400, 422), (probe, r.text)
    assert user_rows(deps_paths["db"]) == SEED_ROWS


def test_sql_injection_through_a_string_parameter_is_inert(deps_server, deps_paths):
    for probe in (
        "'; DROP TABLE users; --",
        "alice' OR '1'='1",
        "x' UNION SELECT 1, name FROM users --",
    ):
        r = get(deps_server, "/users/search", params={"name": probe})
        assert r.status_code == 200, (probe, r.text)
        assert r.json() == [], (probe, r.text)
    assert user_rows(deps_paths["db"]) == SEED_ROWS


# --------------------------------------------------------------------------- examples/secure


@pytest.fixture(scope="module")
def secure_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("secure-example")
    key_file = root / "secret_key"
    secret = secrets.token_urlsafe(48)
    key_file.write_text(secret + "\n")
    env = {"SECRET_KEY_FILE": str(key_file), "DATABASE_PATH": str(root / "secure.db")}
    with running(
        "app:app",
        app_dir=REPO / "examples" / "secure",
        args=["--workers", "2"],
        env=env,
    ) as srv:
        srv.secret = secret  # type: ignore[attr-defined]
        srv.db = root / "secure.db"  # type: ignore[attr-defined]
        yield srv


def test_secure_example_login_then_jwt_route(secure_server):
    srv = secure_server
    assert (
        srv.serving["runtime"] == "process"
    ), srv.serving  # pydantic and cryptography force processes
    password = "hunter2-" + uuid.uuid4().hex
    r = requests.post(
        srv.url("/users"),
        json={"username": "alice", "email": "alice@example.com", "password": password},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert (
        set(user) == {"id", "username", "email"} and user["username"] == "alice"
    ), user
    assert password not in r.text and "scrypt" not in r.text
    r = requests.post(
        srv.url("/users"),
        json={"username": "b ob", "email": "b@example.com", "password": password},
        timeout=HTTP_TIMEOUT,
    )
    errs = assert_validation_errors(r, ("value_error", ["body", "username"], "b ob"))
    assert errs[0]["msg"] == "Value error, Username must be alphanumeric"

    r = requests.post(
        srv.url("/login"),
        json={"username": "alice", "password": "wrong-password"},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 401, r.text
    assert_auth_failure_logged(srv, r)
    r = requests.post(
        srv.url("/login"),
        json={"username": "alice", "password": password},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert r.json()["token_type"] == "bearer"
    decoded = jwt.decode(
        token, srv.secret, algorithms=["HS256"], options={"verify_iss": False}
    )
    assert decoded["user_id"] == user["id"]

    r = get(srv, "/jwt-protected", headers=bearer(token))
    assert r.status_code == 200 and r.json() == {"user_id": user["id"]}, r.text
    r = get(srv, "/protected", headers=bearer(token))
    assert r.status_code == 200 and r.json()["user"]["user_id"] == user["id"], r.text
    assert password not in log_text(srv) and token not in log_text(srv)

    forged = jwt.encode(
        {**decoded, "user_id": 999}, secrets.token_urlsafe(48), algorithm="HS256"
    )
    for path in ("/jwt-protected", "/protected"):
        r = get(srv, path)
        assert r.status_code == 401 and r.headers.get(
            "WWW-Authenticate", ""
        ).startswith("Bearer"), (path, r.text)
        r = get(srv, path, headers=bearer(forged))
        assert r.status_code == 401, (path, r.text)
        assert "999" not in r.text
    r = get(
        srv, "/jwt-protected", headers=bearer(unsigned({**decoded, "user_id": 999}))
    )
    assert r.status_code == 401, r.text


def test_secure_example_hardening(secure_server):
    srv = secure_server
    r = get(srv, "/users/" + urllib.parse.quote("'; DROP TABLE users; --", safe=""))
    assert r.status_code in (400, 422), r.text
    with sqlite3.connect(srv.db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'users'"
        ).fetchone() == (1,)
    conn.close()
    r = get(srv, "/hello", params={"name": "<script>alert(1)</script>"})
    assert r.status_code == 200
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text, r.text
    assert r.headers.get("X-Content-Type-Options") == "nosniff", r.headers
    assert r.headers.get("X-Frame-Options") == "DENY", r.headers
    r = get(srv, "/hello", headers={"Origin": "https://yourdomain.com"})
    assert (
        r.headers.get("Access-Control-Allow-Origin") == "https://yourdomain.com"
    ), r.headers
    r = get(srv, "/hello", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in r.headers, r.headers
    r = get(srv, "/hello?pad=" + "b" * 1500)
    rid = r.headers["X-Request-ID"]
    rec = srv.wait_for_log(
        lambda rec: rec.get("msg") == "Suspicious long query string"
        and rec.get("request_id") == rid,
        timeout=5,
    )
    assert (
        rec is not None and rec["query_length"] == 1504 and rec["ip"] == "127.0.0.1"
    ), rec
    r = requests.post(
        srv.url("/api/data"),
        json={"username": "bob", "email": "b@example.com"},
        timeout=HTTP_TIMEOUT,
    )
    assert r.status_code == 200 and r.json() == {"status": "processed"}, r.text
