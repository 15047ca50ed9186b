"""SECURITY.md as a runnable app: hardened settings, validated input, bound SQL, bearer and JWT auth.

Run it (see README.md):

    SECRET_KEY_FILE=/run/secrets/secret_key bin/gofastapi-server --app app:app --app-dir examples/secure

Settings come from the environment, secrets from files:

- SECRET_KEY_FILE (required): the HS256 signing key, at least 32 bytes;
- DATABASE_PATH: the SQLite database (default: gofastapi-secure.db in the temp directory);
- CORS_ORIGIN: the one trusted browser origin (default https://yourdomain.com).

pydantic cannot load in own-GIL sub-interpreters, so the default runtime
(auto) serves this app from worker processes.
"""

import datetime as dt
import hashlib
import hmac
import html
import logging
import os
import secrets
import sqlite3
import tempfile
import warnings

import jwt  # PyJWT
from pydantic import BaseModel, Field

from gofastapi import Depends, GoFastAPI, HTTPException, Request
from gofastapi.responses import HTMLResponse
from gofastapi.security import HTTPBearer, JWTBearer

# Use files (or environment variables) for secrets, never source code.
SECRET_KEY_FILE = os.environ.get("SECRET_KEY_FILE")
if not SECRET_KEY_FILE:
    raise RuntimeError(
        "set SECRET_KEY_FILE to a file holding the JWT signing key (at least 32 bytes)"
    )
with open(SECRET_KEY_FILE, encoding="utf-8") as _f:
    SECRET_KEY = _f.read().rstrip("\r\n")

DATABASE_PATH = os.environ.get("DATABASE_PATH") or os.path.join(
    tempfile.gettempdir(), "gofastapi-secure.db"
)
ISSUER = "gofastapi-secure-example"
TOKEN_TTL = dt.timedelta(minutes=15)

app = GoFastAPI(
    title="GoFastAPI secure example",
    # Disable debug in production
    debug=False,
    # Configure CORS properly
    cors_origins=[os.environ.get("CORS_ORIGIN", "https://yourdomain.com")],
    cors_methods=["GET", "POST"],
    cors_headers=["Content-Type", "Authorization"],
    cors_credentials=False,
    # Set security headers
    security_headers=True,
    # Limit request size
    max_request_size="10MB",
    # Per-client rate limit, enforced by the Go edge
    rate_limit="100/minute",
)

# --------------------------------------------------------------------------- security logging (SECURITY.md)

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


# --------------------------------------------------------------------------- input validation (SECURITY.md)

with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore"
    )  # pydantic 2 deprecates v1's @validator; SECURITY.md uses it
    from pydantic import validator

    class UserInput(BaseModel):
        username: str
        email: str

        @validator("username")
        def validate_username(cls, v):  # noqa: N805
            if not v.isalnum():
                raise ValueError("Username must be alphanumeric")
            return v


class NewUser(UserInput):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    password: str = Field(min_length=8, max_length=128)


class LoginInput(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class UserOut(BaseModel):
    """What a client may see of a user: never the password hash."""

    id: int
    username: str
    email: str


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


# --------------------------------------------------------------------------- storage: bound parameters only


def connect() -> sqlite3.Connection:
    conn = sqlite3.connect(DATABASE_PATH, timeout=10)
    conn.row_factory = sqlite3.Row
    return conn


@app.on_event("startup")
def create_schema() -> None:
    with connect() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS users ("
            " id INTEGER PRIMARY KEY,"
            " username TEXT NOT NULL UNIQUE,"
            " email TEXT NOT NULL,"
            " password_hash TEXT NOT NULL)"
        )


def get_db():
    conn = connect()
    try:
        yield conn
    finally:
        conn.close()


def hash_password(password: str, salt: bytes | None = None) -> str:
    # scrypt, as SECURITY.md recommends (bcrypt, scrypt or Argon2)
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    return hmac.compare_digest(hash_password(password, salt), stored)


# A hash to compare against when the user does not exist, so that both paths take as long.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


@app.post("/users", status_code=201, response_model=UserOut)
def create_user(user: NewUser, conn: sqlite3.Connection = Depends(get_db)):
    try:
        with conn:
            cur = conn.execute(
                "INSERT INTO users (username, email, password_hash) VALUES (?, ?, ?)",
                (user.username, user.email, hash_password(user.password)),
            )
    except sqlite3.IntegrityError:
        raise HTTPException(status_code=409, detail="Username already taken") from None
    row = conn.execute("SELECT * FROM users WHERE id = ?", (cur.lastrowid,)).fetchone()
    return dict(row)  # the response model drops password_hash


@app.get("/users/{user_id}", response_model=UserOut)
def read_user(user_id: int, conn: sqlite3.Connection = Depends(get_db)):
    # DON'T: f"SELECT * FROM users WHERE id = {user_id}"
    row = conn.execute(
        "SELECT * FROM users WHERE id = :user_id", {"user_id": user_id}
    ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="User not found")
    return dict(row)


# Validate all inputs
@app.post("/api/data")
def process_data(data: UserInput):  # Use Pydantic models
    return {"status": "processed"}


# XSS prevention
def safe_render(user_content):
    return html.escape(user_content)


@app.get("/hello")
def hello(name: str = "world"):
    return HTMLResponse(f"<p>Hello, {safe_render(name)}!</p>")


# --------------------------------------------------------------------------- authentication


def issue_token(user_id: int, username: str) -> str:
    now = dt.datetime.now(dt.timezone.utc)
    claims = {
        "sub": str(user_id),
        "user_id": user_id,
        "username": username,
        "iss": ISSUER,
        "iat": now,
        "exp": now + TOKEN_TTL,
        "jti": secrets.token_urlsafe(12),
    }
    return jwt.encode(claims, SECRET_KEY, algorithm="HS256")


def validate_token(token: str) -> dict:
    try:
        claims = jwt.decode(
            token,
            SECRET_KEY,
            algorithms=["HS256"],
            issuer=ISSUER,
            options={"require": ["exp", "user_id"]},
        )
    except jwt.PyJWTError:
        raise HTTPException(
            401,
            "Invalid or expired token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    return {"user_id": claims["user_id"], "username": claims.get("username")}


@app.post("/login", response_model=Token)
def login(
    credentials: LoginInput,
    request: Request,
    conn: sqlite3.Connection = Depends(get_db),
):
    row = conn.execute(
        "SELECT id, username, password_hash FROM users WHERE username = ?",
        (credentials.username,),
    ).fetchone()
    stored = row["password_hash"] if row is not None else _DUMMY_HASH
    if not check_password(credentials.password, stored) or row is None:
        security_logger.warning(
            "login failed",
            extra={
                "event": "auth_failed",
                "client": request.client.host,
                "reason": "bad credentials",
            },
        )
        raise HTTPException(
            401,
            "Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return {
        "access_token": issue_token(row["id"], row["username"]),
        "expires_in": int(TOKEN_TTL.total_seconds()),
    }


# HTTP Bearer token authentication
security = HTTPBearer()


@app.get("/protected")
def protected_endpoint(token=Depends(security)):
    # Validate token
    user = validate_token(token.credentials)
    return {"user": user}


# JWT authentication, verified by the Go edge before Python runs
jwt_security = JWTBearer(
    secret_key_file=SECRET_KEY_FILE, issuer=ISSUER, required_claims=["exp", "user_id"]
)


@app.get("/jwt-protected")
def jwt_protected(token: dict = Depends(jwt_security)):
    return {"user_id": token["user_id"]}
