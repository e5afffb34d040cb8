"""Who may use the console: password hashes, signed session cookies, lockout, CSRF.

Sessions live in the cookie itself (JSON, HMAC-SHA256 with ``[web] secret_key``), so
nothing is stored server-side but the logged-out sessions and the failed logins,
both in memory: a restart forgets them (a logged-out cookie stays expired anyway once
``session_minutes`` pass). Several console processes each count failures on their own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from starlette.requests import Request
from starlette.responses import Response

from approvals.settings import WebSettings

COOKIE = "approvals_session"
CSRF_FIELD = "csrf"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
_TRUSTED_PROXY = "127.0.0.1"  # X-Forwarded-Proto and -For are believed only from here


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (salt and hash in base64), for ``[web] admins``."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(
        ["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_password(stored: str, password: str) -> bool:
    """True when ``password`` matches ``stored`` (a malformed hash matches nothing)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, binascii.Error):  # wrong field count, not numbers, not base64
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Session:
    """A logged-in admin: ``csrf`` goes into every form that changes anything."""

    admin: str
    csrf: str
    session_id: str
    expires_at: datetime


class Lockout:
    """Failed logins per admin name and per client address, in memory."""

    def __init__(self, attempts: int, minutes: float, clock: Callable[[], datetime]) -> None:
        self._attempts = attempts
        self._window = timedelta(minutes=minutes)
        self._clock = clock
        self._failures: dict[str, list[datetime]] = {}

    def locked(self, *keys: str) -> bool:
        return any(len(self._recent(key)) >= self._attempts for key in keys)

    def fail(self, *keys: str) -> None:
        for key in keys:
            self._failures[key] = [*self._recent(key), self._clock()]

    def clear(self, *keys: str) -> None:
        for key in keys:
            self._failures.pop(key, None)

    def _recent(self, key: str) -> list[datetime]:
        since = self._clock() - self._window
        recent = [at for at in self._failures.get(key, []) if at > since]
        if recent:
            self._failures[key] = recent
        else:
            self._failures.pop(key, None)
        return recent


class Auth:
    """Logins, session cookies and CSRF checks for one console."""

    def __init__(self, web: WebSettings, clock: Callable[[], datetime]) -> None:
        web.require_runnable()
        assert web.secret_key is not None  # require_runnable said so
        self._web = web
        self._key = hashlib.sha256(
            b"approvals console session\x00" + web.secret_key.get_secret_value().encode()
        ).digest()
        self._clock = clock
        self._ended: dict[str, datetime] = {}  # session id -> when it would have expired
        self.lockout = Lockout(web.lockout_attempts, web.lockout_minutes, clock)

    # ---- logging in -----------------------------------------------------------------------

    def login(self, request: Request, name: str, password: str) -> Session | None:
        """A new session, or None: wrong name or password, or locked out (``locked``)."""
        keys = (f"name:{name.strip().lower()}", f"address:{client_address(request)}")
        if self.lockout.locked(*keys):
            return None
        hashed = self._web.admins.get(name)
        stored = None if hashed is None else hashed.get_secret_value()
        # Hash something even for an unknown name, so that timing does not tell names apart.
        if verify_password(stored or _DUMMY_HASH, password) and stored is not None:
            self.lockout.clear(*keys)
            return Session(
                admin=name,
                csrf=secrets.token_urlsafe(24),
                session_id=secrets.token_urlsafe(16),
                expires_at=self._clock() + timedelta(minutes=self._web.session_minutes),
            )
        self.lockout.fail(*keys)
        return None

    def locked(self, request: Request, name: str) -> bool:
        return self.lockout.locked(
            f"name:{name.strip().lower()}", f"address:{client_address(request)}"
        )

    def logout(self, session: Session) -> None:
        now = self._clock()
        self._ended = {sid: at for sid, at in self._ended.items() if at > now}
        self._ended[session.session_id] = session.expires_at

    # ---- the cookie -----------------------------------------------------------------------

    def session(self, request: Request) -> Session | None:
        """The request's valid session, or None (no cookie, forged, expired, logged out,
        or its admin was removed from the config)."""
        cookie = request.cookies.get(COOKIE, "")
        payload, _, signature = cookie.partition(".")
        if not payload or not hmac.compare_digest(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            session = Session(
                admin=str(data["admin"]),
                csrf=str(data["csrf"]),
                session_id=str(data["sid"]),
                expires_at=datetime.fromisoformat(data["expires"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        if session.expires_at <= self._clock() or session.session_id in self._ended:
            return None
        if session.admin not in self._web.admins:
            return None
        return session

    def set_cookie(self, response: Response, request: Request, session: Session) -> None:
        data = {
            "admin": session.admin,
            "csrf": session.csrf,
            "sid": session.session_id,
            "expires": session.expires_at.isoformat(),
        }
        payload = _b64(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        response.set_cookie(
            COOKIE,
            f"{payload}.{self._sign(payload)}",
            max_age=int(self._web.session_minutes * 60),
            path=self._web.root_path or "/",
            secure=self._secure(request),
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            COOKIE,
            path=self._web.root_path or "/",
            secure=self._secure(request),
            httponly=True,
            samesite="strict",
        )

    def csrf_ok(self, session: Session, submitted: object) -> bool:
        return isinstance(submitted, str) and hmac.compare_digest(
            submitted.encode(), session.csrf.encode()
        )

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest())

    def _secure(self, request: Request) -> bool:
        if self._web.secure_cookies is None:
            return over_https(request)
        return self._web.secure_cookies


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def _from_trusted_proxy(request: Request) -> bool:
    return request.client is not None and request.client.host == _TRUSTED_PROXY


def over_https(request: Request) -> bool:
    """The request came over TLS, to us or to the reverse proxy on 127.0.0.1."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "")
    return _from_trusted_proxy(request) and forwarded.split(",")[0].strip().lower() == "https"


def client_address(request: Request) -> str:
    """The client's address; behind the reverse proxy on 127.0.0.1, the one it forwarded."""
    if _from_trusted_proxy(request):
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()  # the one the proxy itself added
    return request.client.host if request.client else "unknown"
