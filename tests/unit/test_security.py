"""Security dependencies: HTTPBearer, HTTPBasic, API keys, scopes and JWTBearer (edge contract, protocol.md §2.1)."""

from __future__ import annotations

import base64
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gofastapi import (
    APIRouter,
    Depends,
    GoFastAPI,
    Request,
    Response,
    Security,
    _dispatch,
)
from gofastapi.security import (
    APIKeyCookie,
    APIKeyHeader,
    APIKeyQuery,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
    JWTBearer,
    SecurityScopes,
)
from gofastapi.testclient import TestClient

jwt = pytest.importorskip("jwt")

SECRET = "s" * 32
OTHER_SECRET = "o" * 32
CLAIMS_HEADER = "x-gofastapi-jwt-claims"


def mint(claims: dict[str, Any], key: Any = SECRET, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.fixture
def auth_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.WARNING, logger="gofastapi.security"):
        yield caplog


def _failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "gofastapi.security"]


# --------------------------------------------------------------------------- HTTPBearer


@pytest.fixture(scope="module")
def http_client() -> TestClient:
    app = GoFastAPI()
    security = HTTPBearer()
    optional = HTTPBearer(auto_error=False)
    basic, realm = HTTPBasic(), HTTPBasic(realm="shop")

    @app.get("/protected")
    def protected(token: str = Depends(security)) -> Any:  # the seed's spelling
        assert isinstance(token, HTTPAuthorizationCredentials)
        return {"scheme": token.scheme, "credentials": token.credentials}

    @app.get("/optional")
    def optional_route(creds: Any = Depends(optional)) -> Any:
        return {"creds": None if creds is None else creds.credentials}

    @app.get("/basic")
    def basic_route(creds: HTTPBasicCredentials = Depends(basic)) -> Any:
        return {"username": creds.username, "password": creds.password}

    @app.get("/realm")
    def realm_route(creds: HTTPBasicCredentials = Depends(realm)) -> Any:
        return creds.username

    @app.get("/header-key")
    def header_key(key: str = Depends(APIKeyHeader(name="X-API-Key"))) -> Any:
        return key

    @app.get("/query-key")
    def query_key(key: str = Depends(APIKeyQuery(name="api_key"))) -> Any:
        return key

    @app.get("/cookie-key")
    def cookie_key(key: str = Depends(APIKeyCookie(name="session"))) -> Any:
        return key

    @app.get("/optional-key")
    def optional_key(
        key: Any = Depends(APIKeyHeader(name="k", auto_error=False)),
    ) -> Any:
        return {"key": key}

    return TestClient(app)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer"},
        {"authorization": "Bearer "},
        {"authorization": "Basic abc"},
    ],
    ids=["missing", "no-token", "empty-token", "other-scheme"],
)
def test_http_bearer_refuses_with_401(
    http_client: TestClient, headers: dict[str, str], auth_log: pytest.LogCaptureFixture
) -> None:
    response = http_client.get("/protected", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Not authenticated"}
    assert response.headers["www-authenticate"] == "Bearer"
    [record] = _failures(auth_log)
    assert record.event == "auth_failed" and record.client == "testclient"  # type: ignore[attr-defined]


def test_http_bearer_returns_credentials(http_client: TestClient) -> None:
    response = http_client.get(
        "/protected", headers={"authorization": "bearer abc.def"}
    )
    assert response.json() == {"scheme": "bearer", "credentials": "abc.def"}
    assert http_client.get("/optional").json() == {"creds": None}
    assert http_client.get(
        "/optional", headers={"authorization": "Basic x"}
    ).json() == {"creds": None}
    assert http_client.get("/optional", headers=bearer("t")).json() == {"creds": "t"}


def test_subclassing_calls_super_synchronously(
    app: GoFastAPI, client: TestClient
) -> None:
    # FastAPI's tutorial pattern, minus ``await``: gofastapi's security callables are sync.
    class TokenBearer(HTTPBearer):
        def __call__(self, request: Request) -> Any:
            creds = super().__call__(request)
            return {"token_length": len(creds.credentials)} if creds else None

    @app.get("/sub")
    def sub(info: Any = Depends(TokenBearer())) -> Any:
        return info

    assert client.get("/sub", headers=bearer("abcd")).json() == {"token_length": 4}
    assert client.get("/sub").status_code == 401


def test_credentials_never_show_the_secret() -> None:
    creds = HTTPAuthorizationCredentials("Bearer", "top-secret")
    basic = HTTPBasicCredentials("al", "pw-secret")
    for text in (repr(creds), str(creds), f"{creds}", repr(basic), str(basic)):
        assert "secret" not in text
    assert creds.credentials == "top-secret" and basic.password == "pw-secret"


def _basic(value: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(value.encode()).decode()}


@pytest.mark.parametrize(
    ("url", "headers", "status", "body", "challenge"),
    [
        (
            "/basic",
            _basic("al:pw:x"),
            200,
            {"username": "al", "password": "pw:x"},
            None,
        ),
        ("/basic", {}, 401, {"detail": "Not authenticated"}, "Basic"),
        ("/basic", bearer("x"), 401, {"detail": "Not authenticated"}, "Basic"),
        (
            "/basic",
            {"authorization": "Basic !!!"},
            401,
            {"detail": "Invalid authentication credentials"},
            "Basic",
        ),
        (
            "/basic",
            _basic("nocolon"),
            401,
            {"detail": "Invalid authentication credentials"},
            "Basic",
        ),
        ("/realm", {}, 401, {"detail": "Not authenticated"}, 'Basic realm="shop"'),
    ],
    ids=["valid", "missing", "other-scheme", "not-base64", "no-colon", "realm"],
)
def test_http_basic(
    http_client: TestClient,
    url: str,
    headers: dict[str, str],
    status: int,
    body: Any,
    challenge: str | None,
) -> None:
    response = http_client.get(url, headers=headers)
    assert (response.status_code, response.json()) == (status, body)
    assert response.headers.get("www-authenticate") == challenge


@pytest.mark.parametrize(
    ("url", "kwargs", "status", "body"),
    [
        ("/header-key", {"headers": {"x-api-key": "k1"}}, 200, "k1"),
        ("/header-key", {}, 403, {"detail": "Not authenticated"}),
        ("/query-key", {"params": {"api_key": "k2"}}, 200, "k2"),
        (
            "/query-key",
            {"params": {"api_key": ""}},
            403,
            {"detail": "Not authenticated"},
        ),
        ("/cookie-key", {"cookies": {"session": "k3"}}, 200, "k3"),
        ("/cookie-key", {}, 403, {"detail": "Not authenticated"}),
        ("/optional-key", {}, 200, {"key": None}),
    ],
    ids=[
        "header",
        "header-missing",
        "query",
        "query-empty",
        "cookie",
        "cookie-missing",
        "optional",
    ],
)
def test_api_keys(
    http_client: TestClient, url: str, kwargs: dict[str, Any], status: int, body: Any
) -> None:
    response = http_client.get(url, **kwargs)
    assert (response.status_code, response.json()) == (status, body)
    assert "www-authenticate" not in response.headers


# --------------------------------------------------------------------------- scopes


def test_security_scopes_accumulate_and_key_the_cache(
    app: GoFastAPI, client: TestClient
) -> None:
    calls: list[list[str]] = []

    def get_user(security_scopes: SecurityScopes) -> dict[str, Any]:
        calls.append(list(security_scopes.scopes))
        return {"scopes": security_scopes.scopes, "str": security_scopes.scope_str}

    def get_active(user: Any = Security(get_user, scopes=["me"])) -> Any:
        return user

    @app.get("/scopes")
    def scopes(
        a: Any = Security(get_active, scopes=["items"]),
        b: Any = Depends(get_user),
        c: Any = Security(get_user, scopes=["admin"]),
        d: Any = Security(get_user, scopes=["admin"]),
    ) -> Any:
        return {"a": a, "b": b, "c": c, "d": d}

    assert client.get("/scopes").json() == {
        "a": {"scopes": ["items", "me"], "str": "items me"},
        "b": {"scopes": [], "str": ""},
        "c": {"scopes": ["admin"], "str": "admin"},
        "d": {"scopes": ["admin"], "str": "admin"},
    }
    assert calls == [["items", "me"], [], ["admin"]]  # d came from the cache


# --------------------------------------------------------------------------- JWTBearer: configuration


PUBLIC_PEM = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give a key"),
        (
            {"secret_key": "your-secret-key"},
            "secret_key is too short for HS256: use at least 32 bytes",
        ),
        ({"secret_key": "s" * 40, "algorithms": ["HS384"]}, "at least 48 bytes"),
        (
            {"secret_key": "s" * 63, "algorithms": ["HS256", "HS512"]},
            "at least 64 bytes",
        ),
        ({"secret_key": SECRET, "algorithms": ["none"]}, "'none' is refused"),
        ({"secret_key": SECRET, "algorithms": ["HS256", "NONE"]}, "'none' is refused"),
        (
            {"secret_key": SECRET, "algorithms": ["HS256", "RS256"]},
            "mix HMAC and public-key",
        ),
        ({"secret_key": SECRET, "algorithms": ["HS999"]}, "unknown algorithm 'HS999'"),
        ({"secret_key": SECRET, "algorithms": []}, "must not be empty"),
        ({"public_key": PUBLIC_PEM}, "public_key is given but algorithms"),
        (
            {"secret_key": SECRET, "algorithms": ["RS256"]},
            "secret_key is given but algorithms",
        ),
        (
            {
                "public_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----",
                "algorithms": ["RS256"],
            },
            "holds a private key",
        ),
        (
            {"public_key": "not a pem", "algorithms": ["ES256"]},
            "must be a PEM public key",
        ),
        ({"secret_key": SECRET, "leeway": -1}, "leeway must be"),
    ],
    ids=[
        "no-key",
        "seed-short-secret",
        "hs384-short",
        "strongest-hash-counts",
        "none",
        "none-upper",
        "mixed-families",
        "unknown",
        "empty",
        "public-key-for-hs",
        "secret-for-rs",
        "private-key",
        "not-pem",
        "negative-leeway",
    ],
)
def test_jwt_bearer_refuses_bad_configuration(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        JWTBearer(**kwargs)


def test_jwt_bearer_key_files(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    bearer_ = JWTBearer(secret_key_file=secret_file)
    assert bearer_.secret_key == SECRET
    pem_file = tmp_path / "pub.pem"
    pem_file.write_text(PUBLIC_PEM + "\r\n")
    assert (
        JWTBearer(public_key_file=str(pem_file), algorithms=["RS256"]).public_key
        == PUBLIC_PEM
    )
    short = tmp_path / "short"
    short.write_text("x" * 31 + "\n")
    with pytest.raises(ValueError, match="secret_key_file is too short"):
        JWTBearer(secret_key_file=short)
    missing = tmp_path / "nope"
    with pytest.raises(ValueError, match=f"secret_key_file '{missing}' does not exist"):
        JWTBearer(secret_key_file=missing)
    with pytest.raises(
        ValueError, match="give secret_key or secret_key_file, not both"
    ):
        JWTBearer(secret_key=SECRET, secret_key_file=secret_file)


def test_jwt_bearer_repr_hides_the_key() -> None:
    assert SECRET not in repr(JWTBearer(secret_key=SECRET))


def _config(**overrides: Any) -> dict[str, Any]:
    config = {
        "secret_key": SECRET,
        "public_key": None,
        "algorithms": ["HS256"],
        "audience": None,
        "issuer": None,
        "leeway": 0.0,
        "required_claims": [],
    }
    config.update(overrides)
    return config


def test_route_description_carries_the_jwt_config() -> None:
    app = GoFastAPI(
        dependencies=[Depends(JWTBearer(secret_key=SECRET, issuer="app-wide"))]
    )
    plain = GoFastAPI()
    direct = JWTBearer(
        secret_key=SECRET, audience=["a", "b"], leeway=5, required_claims=["sub"]
    )

    def current_user(claims: dict[str, Any] = Depends(direct)) -> Any:
        return claims

    @plain.get("/none")
    def none() -> Any:
        return 1

    @plain.get("/direct")
    def direct_route(claims: dict[str, Any] = Depends(direct)) -> Any:
        return claims

    @plain.get("/nested")
    def nested(user: Any = Depends(current_user)) -> Any:
        return user

    router = APIRouter(dependencies=[Depends(JWTBearer(secret_key=SECRET))])
    router.get("/routed")(lambda: 1)
    plain.include_router(router, prefix="/r")

    @app.get("/app-level")
    def app_level() -> Any:
        return 1

    expected = _config(audience=["a", "b"], leeway=5.0, required_claims=["sub"])
    described = {r["path"]: r["jwt"] for r in plain.describe()["routes"]}
    assert described == {
        "/none": None,
        "/direct": expected,
        "/nested": expected,
        "/r/routed": _config(),
    }
    assert app.describe()["routes"][0]["jwt"] == _config(issuer="app-wide")


def test_two_jwt_configs_on_one_route_are_refused(app: GoFastAPI) -> None:
    first = JWTBearer(secret_key=SECRET)
    same = JWTBearer(secret_key=SECRET)
    other = JWTBearer(secret_key=OTHER_SECRET)

    @app.get("/same")
    def same_config(a: Any = Depends(first), b: Any = Depends(same)) -> Any:
        return 1

    with pytest.raises(ValueError, match="different configurations"):

        @app.get("/two")
        def two(a: Any = Depends(first), b: Any = Depends(other)) -> Any:
            return 1


# --------------------------------------------------------------------------- JWTBearer: verification in Python


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[Any, str]:
    rsa = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = (
        private.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode()
    )
    return private, public_pem


@pytest.fixture(scope="module")
def jwt_client(rsa_keys: tuple[Any, str]) -> TestClient:
    app = GoFastAPI()
    plain = JWTBearer(secret_key=SECRET)
    strict = JWTBearer(
        secret_key=SECRET,
        audience="shop",
        issuer="https://auth.example",
        required_claims=["sub"],
        leeway=30,
    )
    optional = JWTBearer(secret_key=SECRET, auto_error=False)
    rs = JWTBearer(public_key=rsa_keys[1], algorithms=["RS256"])

    @app.get("/jwt-protected")
    def jwt_protected(token: dict = Depends(plain)) -> Any:  # the seed's spelling
        return {"user_id": token["user_id"]}

    @app.get("/strict")
    def strict_route(claims: dict = Depends(strict)) -> Any:
        return claims

    @app.get("/optional")
    def optional_route(claims: Any = Depends(optional)) -> Any:
        return {"claims": claims}

    @app.get("/rs")
    def rs_route(claims: dict = Depends(rs)) -> Any:
        return claims

    return TestClient(app)


def _strict_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": "u1",
        "aud": "shop",
        "iss": "https://auth.example",
        "exp": now + 60,
        "iat": now,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_jwt_bearer_seed_usage(jwt_client: TestClient) -> None:
    response = jwt_client.get("/jwt-protected", headers=bearer(mint({"user_id": 7})))
    assert (response.status_code, response.json()) == (200, {"user_id": 7})


def test_jwt_bearer_missing_token(
    jwt_client: TestClient, auth_log: pytest.LogCaptureFixture
) -> None:
    for headers in ({}, {"authorization": "Basic abc"}, {"authorization": "Bearer"}):
        response = jwt_client.get("/jwt-protected", headers=headers)
        assert (response.status_code, response.json()) == (
            401,
            {"detail": "Not authenticated"},
        )
        assert response.headers["www-authenticate"] == "Bearer"
    assert [r.reason for r in _failures(auth_log)] == ["missing bearer token"] * 3  # type: ignore[attr-defined]


NOW = int(time.time())


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (lambda keys: mint(_strict_claims(exp=NOW - 120)), "token expired"),
        (lambda keys: mint(_strict_claims(nbf=NOW + 600)), "token not yet valid"),
        (lambda keys: mint(_strict_claims(iat=NOW + 600)), "token not yet valid"),
        (lambda keys: mint(_strict_claims(), key=OTHER_SECRET), "invalid signature"),
        (lambda keys: mint(_strict_claims(aud="other")), "invalid audience"),
        (
            lambda keys: mint(_strict_claims(iss="https://evil.example")),
            "invalid issuer",
        ),
        (lambda keys: mint(_strict_claims(sub=None)), "missing required claim 'sub'"),
        (lambda keys: mint(_strict_claims(aud=None)), "missing required claim 'aud'"),
        (
            lambda keys: mint(_strict_claims(), algorithm="HS512", key="k" * 64),
            "algorithm not allowed",
        ),
        (
            lambda keys: jwt.encode(_strict_claims(), None, algorithm="none"),
            "algorithm not allowed",
        ),
        (
            lambda keys: mint(_strict_claims(), key=keys[0], algorithm="RS256"),
            "algorithm not allowed",
        ),
        (lambda keys: "not.a.token", "malformed token"),
        (lambda keys: "a" * 50, "malformed token"),
    ],
    ids=[
        "expired",
        "nbf-future",
        "iat-future",
        "wrong-secret",
        "wrong-audience",
        "wrong-issuer",
        "missing-required-claim",
        "missing-audience",
        "other-hmac-algorithm",
        "alg-none",
        "rs256-on-hs-route",
        "malformed",
        "garbage",
    ],
)
def test_jwt_bearer_refuses_invalid_tokens(
    jwt_client: TestClient,
    rsa_keys: tuple[Any, str],
    token: Callable[[Any], str],
    reason: str,
    auth_log: pytest.LogCaptureFixture,
) -> None:
    raw = token(rsa_keys)
    response = jwt_client.get("/strict", headers=bearer(raw))
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "Invalid or expired token"},
    )
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert raw not in response.text
    [record] = _failures(auth_log)
    assert record.reason == reason  # type: ignore[attr-defined]
    assert record.event == "auth_failed" and record.client == "testclient"  # type: ignore[attr-defined]
    assert raw not in record.getMessage() and raw not in json.dumps(
        record.__dict__, default=str
    )


def test_jwt_bearer_accepts_valid_tokens(
    jwt_client: TestClient, rsa_keys: tuple[Any, str]
) -> None:
    claims = _strict_claims(exp=NOW - 10)  # expired 10 s ago, within the 30 s leeway
    response = jwt_client.get("/strict", headers=bearer(mint(claims)))
    assert (response.status_code, response.json()) == (200, claims)
    rs_token = mint({"sub": "r"}, key=rsa_keys[0], algorithm="RS256")
    assert jwt_client.get("/rs", headers=bearer(rs_token)).json() == {"sub": "r"}
    # Key confusion: HS256 "signed" with the public key must not pass an RS256 route.
    assert (
        jwt_client.get(
            "/rs", headers=bearer(_hs256_forgery({"sub": "r"}, rsa_keys[1]))
        ).status_code
        == 401
    )


def _hs256_forgery(claims: dict[str, Any], key: str) -> str:
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def test_jwt_bearer_refuses_an_audience_it_does_not_expect(
    jwt_client: TestClient,
) -> None:
    response = jwt_client.get(
        "/jwt-protected", headers=bearer(mint({"user_id": 1, "aud": "x"}))
    )
    assert response.status_code == 401


def test_jwt_bearer_without_auto_error(jwt_client: TestClient) -> None:
    assert jwt_client.get("/optional").json() == {"claims": None}
    assert jwt_client.get("/optional", headers=bearer("junk")).json() == {
        "claims": None
    }
    assert jwt_client.get("/optional", headers=bearer(mint({"a": 1}))).json() == {
        "claims": {"a": 1}
    }


def test_test_client_drops_forged_claims_headers(jwt_client: TestClient) -> None:
    forged = {CLAIMS_HEADER: json.dumps({"user_id": "admin"})}
    response = jwt_client.get("/jwt-protected", headers=forged)
    assert (response.status_code, response.json()) == (
        401,
        {"detail": "Not authenticated"},
    )


def test_jwt_bearer_without_pyjwt_refuses(
    jwt_client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    auth_log: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setitem(
        sys.modules, "jwt", None
    )  # import jwt → ImportError, as in a sub-interpreter
    response = jwt_client.get("/jwt-protected", headers=bearer(mint({"user_id": 1})))
    assert response.status_code == 401
    assert "PyJWT is unavailable" in _failures(auth_log)[0].reason  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- through _dispatch, as Go calls it

JWT_APP = """
import logging
from gofastapi import GoFastAPI, Depends
from gofastapi.security import JWTBearer

app = GoFastAPI()
jwt_security = JWTBearer(secret_key="{secret}", audience="shop")
security_logger = logging.getLogger("gofastapi.security")

@app.middleware("request")
async def security_middleware(request, call_next):
    # Log suspicious requests
    if len(request.url.query) > 1000:
        security_logger.warning(
            "Suspicious long query string",
            extra={{"ip": request.client.host, "query_length": len(request.url.query)}}
        )
    response = await call_next(request)
    return response

@app.get("/jwt-protected")
def jwt_protected(token: dict = Depends(jwt_security)):
    return {{"user_id": token["user_id"], "name": token.get("name")}}
"""


@pytest.fixture
def jwt_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    monkeypatch.setattr(sys, "path", list(sys.path))
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", logging.WARNING)
    (tmp_path / "gfa_jwt_app.py").write_text(JWT_APP.format(secret=SECRET))
    description = json.loads(_dispatch.load("gfa_jwt_app:app", str(tmp_path)))
    yield description
    _dispatch.shutdown()
    sys.modules.pop("gfa_jwt_app", None)


def _handle(headers: str, query: str = "") -> tuple[int, bytes, Any]:
    status, head, body = _dispatch.handle(
        0, "GET", "/jwt-protected", query, "host: api\r\n" + headers, b"",
        "203.0.113.9", 5555, "https", "req-77", (),
    )  # fmt: skip
    return status, head, json.loads(body)


def _log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{")
    ]


def test_dispatch_trusts_claims_verified_by_go(
    jwt_app: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert jwt_app["protocol"] == 2
    assert jwt_app["routes"][0]["jwt"] == _config(audience="shop")
    claims = json.dumps({"user_id": 5, "name": "Zoë"}, ensure_ascii=False)
    header = claims.encode("utf-8").decode("latin-1")  # as a header line reaches Python
    assert _handle(f"{CLAIMS_HEADER}: {header}\r\n")[::2] == (
        200,
        {"user_id": 5, "name": "Zoë"},
    )
    assert _log_lines(capsys) == []


def test_dispatch_without_claims_verifies_in_python_and_logs(
    jwt_app: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    good = mint({"user_id": 9, "aud": "shop"})
    assert _handle(f"authorization: Bearer {good}\r\n")[::2] == (
        200,
        {"user_id": 9, "name": None},
    )
    bad = mint({"user_id": 9, "aud": "shop"}, key=OTHER_SECRET)
    status, head, body = _handle(f"authorization: Bearer {bad}\r\n")
    assert (status, body) == (401, {"detail": "Invalid or expired token"})
    assert b'www-authenticate: Bearer error="invalid_token"\r\n' in head
    status, _, body = _handle(f"{CLAIMS_HEADER}: not json\r\n")
    assert (status, body) == (401, {"detail": "Invalid or expired token"})
    [first, second] = _log_lines(capsys)
    assert first == {
        "time": first["time"],
        "level": "WARN",
        "msg": "authentication failed: invalid signature",
        "logger": "gofastapi.security",
        "request_id": "req-77",
        "event": "auth_failed",
        "client": "203.0.113.9",
        "reason": "invalid signature",
    }
    assert second["reason"] == "malformed claims header from the server"


def test_seed_security_middleware_logs_extra_fields(
    jwt_app: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    claims = f"{CLAIMS_HEADER}: " + json.dumps({"user_id": 1}) + "\r\n"
    assert _handle(claims, query="q=" + "a" * 1200)[0] == 200
    assert _handle(claims, query="q=short")[0] == 200
    [line] = _log_lines(capsys)
    assert line["msg"] == "Suspicious long query string"
    assert (line["ip"], line["query_length"], line["request_id"]) == (
        "203.0.113.9",
        1202,
        "req-77",
    )
    assert line["logger"] == "gofastapi.security" and line["level"] == "WARN"


def test_middleware_sees_url_query_and_client(app: GoFastAPI) -> None:
    seen: dict[str, Any] = {}

    @app.middleware("request")
    async def mw(request: Request, call_next: Callable[[Request], Any]) -> Response:
        seen["query"], seen["host"] = request.url.query, request.client.host
        return await call_next(request)

    app.get("/x")(lambda: 1)
    TestClient(app, client=("198.51.100.4", 1)).get("/x?a=1&b=%20")
    assert seen == {"query": "a=1&b=%20", "host": "198.51.100.4"}
