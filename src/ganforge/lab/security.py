"""Who may drive the lab: the Host and Origin checks and the per-launch token.

The lab trains on the user's machine and writes into their workspace, so only its own page, opened
by the user, may talk to it. Three checks, as notebook servers do:

* **Host** (against DNS rebinding: a foreign site whose name resolves to 127.0.0.1 would otherwise
  reach the lab as same-origin): every HTTP request and WebSocket handshake must name the address
  the lab is bound to (``localhost``, ``127.0.0.1`` or ``[::1]`` with the lab's port, or the
  ``--host`` given). Anything else gets 400 and nothing is served.
* **Origin**: browsers cannot be stopped from opening a WebSocket to any address, but they always
  say which page asks. A handshake whose ``Origin`` is not the lab's own address is refused
  (403) before a session exists. Clients that are not browsers send no Origin; they still need:
* **the token**: a random string made at each launch (:func:`new_token`) and put in the address
  the lab prints and opens. The page passes it on as ``/ws?token=...``; the read-only
  ``/api/sessions`` endpoints need it too (``?token=`` or ``Authorization: Bearer``). Another local
  user, or a page that guessed the port, does not know it. Compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def new_token() -> str:
    """A fresh random token for one launch of the lab (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """True when binding ``host`` keeps the lab on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def split_host(value: str) -> tuple[str, int | None] | None:
    """``("name", port)`` from a Host header or an origin's netloc (``[::1]:8080`` -> ``("::1", 8080)``);
    the port is None when absent; None when the value is not a host at all."""
    value = value.strip().lower()
    if not value or any(c in value for c in "/@?#\\ "):
        return None
    try:
        parts = urlsplit("//" + value)
        name, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number or out of range
        return None
    if not name:
        return None
    return name, port


def bound_names(host: str) -> set[str]:
    """The host names a request may use to reach a lab bound to ``host``.

    Loopback names always (a wildcard bind listens on loopback too); for a named bind, that name;
    for a wildcard bind (``0.0.0.0``, ``::``), this machine's host name and its addresses as well.
    """
    names = set(LOOPBACK_NAMES)
    host = host.strip("[]").lower()
    if host not in WILDCARD_HOSTS:
        names.add(host)
        return names
    for name in {socket.gethostname(), socket.getfqdn()}:
        names.add(name.lower())
        try:
            for info in socket.getaddrinfo(name, None):
                names.add(str(info[4][0]).lower())
        except OSError:  # a host name that does not resolve: reachable by address only
            pass
    return names


class Guard:
    """The checks for one lab: allowed host names and port, and the token.

    ``port`` None accepts any port (the port is not known until the socket is bound; :func:`serve`
    narrows it). ``token`` None disables the token check (only for tests of the other checks).
    """

    def __init__(self, names, port: int | None = None, token: str | None = None):
        self.names = {n.strip("[]").lower() for n in names}
        self.port = port
        self.token = token

    def host_ok(self, host_header: str | None) -> bool:
        """Whether a request's ``Host`` names this lab (exact name and port)."""
        parsed = split_host(host_header or "")
        if parsed is None:
            return False
        name, port = parsed
        if name not in self.names:
            return False
        if self.port is None:
            return True
        return port == self.port or (port is None and self.port == 80)

    def origin_ok(self, origin: str | None, host_header: str | None) -> bool:
        """Whether a WebSocket handshake comes from the lab's own page.

        No ``Origin`` (a client that is not a browser) passes here and is left to the token; a
        browser's ``Origin`` must be ``http(s)://`` plus exactly the (already checked) ``Host``.
        """
        if origin is None:
            return True
        try:
            parts = urlsplit(origin.strip())
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.path not in ("", "/") or parts.query:
            return False
        mine, theirs = split_host(host_header or ""), split_host(parts.netloc)
        if mine is None or theirs is None or mine[0] != theirs[0]:
            return False
        default = 443 if parts.scheme == "https" else 80
        return (mine[1] or default) == (theirs[1] or default)

    def token_ok(self, given: str | None) -> bool:
        """Whether ``given`` is this launch's token (constant-time comparison)."""
        if self.token is None:
            return True
        if not given:
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self.token.encode("utf-8"))


def token_from(query: dict, headers) -> str | None:
    """The token a request carries: ``?token=`` or an ``Authorization: Bearer`` header."""
    given = query.get("token")
    if given:
        return given
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
