"""JWT routes (served as auth_jwt:app) for the edge-verification tests.

Meant for --runtime subinterpreters: nothing here imports jwt, cryptography
or pydantic at module level, so the app loads in an own-GIL sub-interpreter and
every token is verified by the Go edge (protocol.md §2.1). Keys come from
files named by environment variables that the test sets:

- JWT_SECRET_FILE: the HS256 secret;
- JWT_PUBLIC_KEY_FILE: the RS256 public key (PEM).
"""

import os

from gofastapi import Depends, GoFastAPI, Request
from gofastapi.security import JWTBearer

app = GoFastAPI(title="auth-jwt")

AUDIENCE = "gofastapi-e2e"
ISSUER = "https://issuer.e2e.invalid"
LEEWAY = 30

hs_bearer = JWTBearer(
    secret_key_file=os.environ["JWT_SECRET_FILE"],
    algorithms=["HS256"],
    audience=AUDIENCE,
    issuer=ISSUER,
    leeway=LEEWAY,
    required_claims=["exp", "user_id"],
)
rs_bearer = JWTBearer(
    public_key_file=os.environ["JWT_PUBLIC_KEY_FILE"],
    algorithms=["RS256"],
    audience=AUDIENCE,
    issuer=ISSUER,
    leeway=LEEWAY,
    required_claims=["exp", "user_id"],
)


@app.get("/hs/me")
def hs_me(token: dict = Depends(hs_bearer)):
    return {"user_id": token["user_id"], "alg": "HS256"}


@app.get("/rs/me")
def rs_me(token: dict = Depends(rs_bearer)):
    return {"user_id": token["user_id"], "alg": "RS256"}


@app.get("/open/headers")
def open_headers(request: Request):
    """A route without JWTBearer: shows whether a client-sent claims header reaches Python."""
    return {"claims_header": request.headers.get("x-gofastapi-jwt-claims")}
