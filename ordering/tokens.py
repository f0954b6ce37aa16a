"""Bearer tokens: verification with a configured key, and minting for development."""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt

from ordering.domain.policy import utcnow
from ordering.settings import Settings

ORGANISATION_CLAIM = "https://entur.io/organisationID"
DEV_SECRET_FILE = "dev-jwt-secret"
VERIFIED_CACHE_SIZE = 4096  # tokens whose signature and claims were checked, until they expire


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class Caller:
    organisation_id: int
    subject: str
    permissions: frozenset[str]

    def may(self, permission: str) -> bool:
        return permission in self.permissions


@dataclass(frozen=True)
class TokenKeys:
    """HS256 with a shared secret, or RS256 with a public key (then minting is not possible)."""

    secret: str | None
    public_key: str | None
    _verified: dict[str, tuple[Caller, float]] = field(default_factory=dict, compare=False, repr=False)

    def verify(self, token: str) -> Caller:
        """A client sends the same token with every request: its signature and claims are
        checked once, and its expiry every time."""
        known = self._verified.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        key, algorithm = (self.public_key, "RS256") if self.public_key else (self.secret or "", "HS256")
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], options={"require": ["exp"]})
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        caller = _caller_from(claims)
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (caller, float(claims["exp"]))
        return caller

    def mint(self, organisation_id: int, subject: str, permissions: list[str],
             lifetime: timedelta = timedelta(hours=12)) -> str:
        if self.secret is None:
            raise InvalidToken("tokens can only be minted with an HS256 secret (JWT_SECRET)")
        now = utcnow()
        claims = {
            ORGANISATION_CLAIM: organisation_id,
            "sub": subject,
            "permissions": permissions,
            "iat": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")


def _caller_from(claims: dict[str, Any]) -> Caller:
    organisation = claims.get(ORGANISATION_CLAIM)
    if not isinstance(organisation, int) or isinstance(organisation, bool):
        raise InvalidToken(f"claim {ORGANISATION_CLAIM} must be an integer")
    permissions = claims.get("permissions", [])
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise InvalidToken("claim permissions must be a list of strings")
    return Caller(organisation, str(claims.get("sub", "")), frozenset(permissions))


def load_keys(settings: Settings) -> TokenKeys:
    """Configured keys, else a development secret made once under the instance folder."""
    if settings.jwt_public_key or settings.jwt_secret:
        return TokenKeys(settings.jwt_secret, settings.jwt_public_key)
    return TokenKeys(_development_secret(settings.instance_dir), None)


def _development_secret(instance_dir: Path) -> str:
    path = instance_dir / DEV_SECRET_FILE
    if not path.exists():
        instance_dir.mkdir(parents=True, exist_ok=True)
        candidate = instance_dir / f"{DEV_SECRET_FILE}.{secrets.token_hex(4)}"
        candidate.write_text(secrets.token_hex(32))
        try:
            os.link(candidate, path)  # atomic: of processes racing here, exactly one wins
        except FileExistsError:
            pass
        finally:
            candidate.unlink()
    return path.read_text().strip()
