"""JWT configuration checks and in-process verification for ``security.JWTBearer``.

``make_config`` validates a ``JWTBearer``'s settings when the app is imported
(every mistake raises ``ValueError`` naming the setting); ``JWTConfig.edge()``
is what the Go server receives to verify tokens itself (protocol.md §2.1);
``verify`` checks a token with PyJWT when Go did not, imported lazily because
it may be missing or unable to load (its ``cryptography`` backend refuses
own-GIL sub-interpreters).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["JWTConfig", "make_config", "verify"]

HMAC_SIZES = {"HS256": 32, "HS384": 48, "HS512": 64}
ASYMMETRIC = frozenset(
    {
        "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512",
        "EdDSA",
    }
)  # fmt: skip

# Why PyJWT refused a token, by exception class name: log reasons that never quote the token.
_REASONS = {
    "ExpiredSignatureError": "token expired",
    "ImmatureSignatureError": "token not yet valid",
    "InvalidAudienceError": "invalid audience",
    "InvalidIssuerError": "invalid issuer",
    "InvalidIssuedAtError": "invalid iat claim",
    "InvalidSignatureError": "invalid signature",
    "InvalidAlgorithmError": "algorithm not allowed",
    "InvalidKeyError": "invalid key",
    "DecodeError": "malformed token",
}


@dataclasses.dataclass(frozen=True, slots=True)
class JWTConfig:
    """A validated JWT configuration: exactly one key, for one algorithm family."""

    secret_key: str | None
    public_key: str | None
    algorithms: tuple[str, ...]
    audience: str | tuple[str, ...] | None
    issuer: str | None
    leeway: float
    required_claims: tuple[str, ...]

    def edge(self) -> dict[str, Any]:
        """The route description's ``jwt`` object (protocol.md §2.1)."""
        return {
            "secret_key": self.secret_key,
            "public_key": self.public_key,
            "algorithms": list(self.algorithms),
            "audience": list(self.audience)
            if isinstance(self.audience, tuple)
            else self.audience,
            "issuer": self.issuer,
            "leeway": self.leeway,
            "required_claims": list(self.required_claims),
        }


def _read_key_file(path: Any, setting: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"JWTBearer: {setting} {str(path)!r} does not exist") from None
    except OSError as exc:
        raise ValueError(
            f"JWTBearer: {setting} {str(path)!r} cannot be read: {exc.strerror or exc}"
        ) from None
    except UnicodeDecodeError:
        raise ValueError(
            f"JWTBearer: {setting} {str(path)!r} is not UTF-8 text"
        ) from None
    return text.rstrip("\r\n")


def _key_setting(value: Any, path: Any, name: str) -> tuple[str | None, str]:
    """The key from ``name`` or ``name_file``, and the setting to name in errors."""
    if value is not None and path is not None:
        raise ValueError(f"JWTBearer: give {name} or {name}_file, not both")
    if path is not None:
        return _read_key_file(path, f"{name}_file"), f"{name}_file"
    if value is not None and not isinstance(value, str):
        raise TypeError(
            f"JWTBearer: {name} must be a string, not {type(value).__name__}"
        )
    return value or None, name


def _algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    algs = tuple(
        dict.fromkeys([algorithms] if isinstance(algorithms, str) else algorithms)
    )
    if not algs:
        raise ValueError("JWTBearer: algorithms must not be empty")
    for alg in algs:
        if not isinstance(alg, str):
            raise TypeError(f"JWTBearer: algorithm {alg!r} is not a string")
        if alg.lower() == "none":
            raise ValueError(
                "JWTBearer: algorithm 'none' is refused: it accepts unsigned tokens"
            )
        if alg not in HMAC_SIZES and alg not in ASYMMETRIC:
            known = ", ".join([*HMAC_SIZES, *sorted(ASYMMETRIC)])
            raise ValueError(f"JWTBearer: unknown algorithm {alg!r} (known: {known})")
    if any(a in HMAC_SIZES for a in algs) and any(a in ASYMMETRIC for a in algs):
        raise ValueError(
            f"JWTBearer: algorithms {list(algs)} mix HMAC and public-key algorithms, "
            "which allows key confusion; use one family per JWTBearer"
        )
    return algs


def _check_keys(
    algs: tuple[str, ...],
    secret: str | None,
    secret_setting: str,
    public: str | None,
    public_setting: str,
) -> None:
    if not secret and not public:
        raise ValueError(
            "JWTBearer: give a key: secret_key (or secret_key_file) for HS*, "
            "public_key (or public_key_file) for RS*/PS*/ES*/EdDSA"
        )
    hmac_algs = [a for a in algs if a in HMAC_SIZES]
    if hmac_algs:
        if public:
            raise ValueError(
                f"JWTBearer: {public_setting} is given but algorithms {list(algs)} are "
                "HMAC algorithms, which use secret_key"
            )
        need = max(HMAC_SIZES[a] for a in hmac_algs)
        if len((secret or "").encode("utf-8")) < need:
            raise ValueError(
                f"JWTBearer: {secret_setting} is too short for {'/'.join(hmac_algs)}: "
                f"use at least {need} bytes (e.g. secrets.token_urlsafe({need}))"
            )
        return
    if secret:
        raise ValueError(
            f"JWTBearer: {secret_setting} is given but algorithms {list(algs)} are "
            "public-key algorithms, which use public_key"
        )
    assert public is not None
    if "PRIVATE KEY" in public:
        raise ValueError(
            f"JWTBearer: {public_setting} holds a private key; give the public key"
        )
    if "-----BEGIN " not in public or "PUBLIC KEY-----" not in public:
        raise ValueError(
            f"JWTBearer: {public_setting} must be a PEM public key "
            "('-----BEGIN PUBLIC KEY-----')"
        )


def make_config(
    *,
    secret_key: Any,
    public_key: Any,
    algorithms: Sequence[str],
    audience: Any,
    issuer: Any,
    leeway: Any,
    required_claims: Sequence[str],
    secret_key_file: Any,
    public_key_file: Any,
) -> JWTConfig:
    """Validate ``JWTBearer``'s settings (``*_file`` read now, trailing newline stripped)."""
    secret, secret_setting = _key_setting(secret_key, secret_key_file, "secret_key")
    public, public_setting = _key_setting(public_key, public_key_file, "public_key")
    algs = _algorithms(algorithms)
    _check_keys(algs, secret, secret_setting, public, public_setting)
    if not (audience is None or isinstance(audience, str)):
        if not (
            isinstance(audience, Sequence)
            and audience
            and all(isinstance(a, str) for a in audience)
        ):
            raise TypeError(
                "JWTBearer: audience must be a string, a list of strings or None"
            )
        audience = tuple(audience)
    if issuer is not None and not isinstance(issuer, str):
        raise TypeError("JWTBearer: issuer must be a string or None")
    if isinstance(leeway, dt.timedelta):
        leeway = leeway.total_seconds()
    if isinstance(leeway, bool) or not isinstance(leeway, (int, float)) or leeway < 0:
        raise ValueError("JWTBearer: leeway must be a number of seconds >= 0")
    if isinstance(required_claims, str) or not all(
        isinstance(c, str) and c for c in required_claims
    ):
        raise TypeError("JWTBearer: required_claims must be a list of claim names")
    return JWTConfig(
        secret_key=secret,
        public_key=public,
        algorithms=algs,
        audience=audience,
        issuer=issuer,
        leeway=float(leeway),
        required_claims=tuple(dict.fromkeys(required_claims)),
    )


def verify(token: str, config: JWTConfig) -> tuple[dict[str, Any] | None, str]:
    """``(claims, "")`` for a valid token, else ``(None, reason)``; the reason never quotes the token."""
    # ImportError, not only ModuleNotFoundError: with cryptography installed, PyJWT 2.10
    # itself fails to import in a sub-interpreter ("does not support loading in subinterpreters").
    try:
        import jwt
    except ImportError:
        return None, "token not verified by the server and PyJWT is unavailable"
    audience = config.audience
    try:
        claims = jwt.decode(
            token,
            config.secret_key if config.secret_key is not None else config.public_key,
            algorithms=list(config.algorithms),
            audience=list(audience) if isinstance(audience, tuple) else audience,
            issuer=config.issuer,
            leeway=config.leeway,
            options={"require": list(config.required_claims)},
        )
    except jwt.MissingRequiredClaimError as exc:
        return None, f"missing required claim {exc.claim!r}"
    except jwt.PyJWTError as exc:
        name = type(exc).__name__
        return None, _REASONS.get(name, f"invalid token ({name})")
    except Exception as exc:  # e.g. a key PyJWT cannot use here (no cryptography)
        return None, f"token cannot be verified ({type(exc).__name__})"
    if not isinstance(claims, dict):
        return None, "claims are not a JSON object"
    return claims, ""
