"""The rules of webhook subscriptions, plain Python: signatures, the retry schedule, who may read which event,
which callback URLs are acceptable. No I/O except the name lookup `check_callback_url` is handed.

Signatures follow Standard Webhooks (https://www.standardwebhooks.com): the secret is `whsec_` + base64 of 32
random bytes; the signature is `v1,` + base64(HMAC-SHA256(secret, "<webhook-id>.<webhook-timestamp>.<body>")).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import random
import secrets
import socket
from typing import Callable, Iterable
from urllib.parse import urlsplit

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
CONTENT_TYPE = "application/cloudevents+json"

#: Seconds to wait after the 1st, 2nd, ... failed attempt; after the last one the delivery is parked. Close to the
#: schedule Standard Webhooks suggests (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h): about 28 hours.
DEFAULT_RETRY_SCHEDULE_S: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)
DEFAULT_JITTER = 0.2

#: Who may receive an event: the producer's read scope(s); a subscriber must hold all of them. (The national
#: read, `registration:read:national`, stays with the statelessness officers: a system's events are not an
#: officer's reads of the register, and the office scoping of reads is a rule of officers' reads.)
READ_SCOPES_BY_SOURCE: dict[str, frozenset[str]] = {
    "registration": frozenset({"registration:read"}),
    "rsd": frozenset({"rsd:read"}),
    "statelessness": frozenset({"statelessness:read"}),
    "civil-registry-bridge": frozenset({"civil-registry:read"}),
}
MANAGE_SCOPE = "webhooks:manage"


# -- secrets and signatures -------------------------------------------------------------------------------------

def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    raw = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    return base64.b64decode(raw)


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value for one delivery attempt."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def signature_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": message_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id, timestamp, body), "content-type": CONTENT_TYPE}


# -- retries ----------------------------------------------------------------------------------------------------

def retry_delay(schedule: tuple[float, ...] | list[float], failures: int, *, jitter: float = DEFAULT_JITTER,
                rand: Callable[[], float] = random.random) -> float | None:
    """Seconds until the next attempt after `failures` failed attempts (1 = the first failed), with +-`jitter`
    of it at random so that many deliveries failing together do not retry together; None: park it."""
    if failures < 1:
        return 0.0
    if failures > len(schedule):
        return None
    base = float(schedule[failures - 1])
    return max(0.0, base * (1 + jitter * (2 * rand() - 1)))


def should_retry(status: int | None) -> bool:
    """A connection error or timeout (None), 408, 429 and 5xx are retried; any other answer is final: 2xx is
    delivered, another 4xx (the receiver refuses the message itself) parks it at once."""
    return status is None or status in (408, 429) or status >= 500


def delivered(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


# -- who sees what ----------------------------------------------------------------------------------------------

def scopes_to_read(service: str) -> frozenset[str]:
    return READ_SCOPES_BY_SOURCE[service]


def may_read(service: str, scopes: Iterable[str]) -> bool:
    """Whether a holder of `scopes` may receive the events `service` publishes."""
    return READ_SCOPES_BY_SOURCE[service] <= frozenset(scopes)


# -- callback URLs (server-side request forgery) ----------------------------------------------------------------

class UnacceptableUrl(ValueError):
    pass


Resolver = Callable[[str], list[str]]


def resolve_host(host: str) -> list[str]:
    return sorted({info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)})


def _is_loopback_name(host: str) -> bool:
    return host in ("localhost", "localhost.") or host.endswith(".localhost")


def needs_lookup(url: str) -> bool:
    """Whether checking `url` asks the resolver (a host name); an address literal or a loopback name does not."""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    try:
        ipaddress.ip_address(host)
        return False
    except ValueError:
        return bool(host) and not _is_loopback_name(host)


def check_callback_url(url: str, *, dev_mode: bool, resolve: Resolver = resolve_host) -> None:
    """Raise UnacceptableUrl unless `url` may be called.

    https only; plain http only to a loopback address in dev mode. Outside dev mode every address the host
    resolves to must be a global unicast address: loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7),
    link-local (169.254/16 and so the cloud metadata service 169.254.169.254, fe80::/10), shared, reserved and
    multicast addresses are refused. In dev mode loopback is accepted too.
    """
    if len(url) > 2000:
        raise UnacceptableUrl("the URL is longer than 2000 characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError as exc:
        raise UnacceptableUrl(f"not a URL: {exc}") from None
    if parts.scheme not in ("https", "http"):
        raise UnacceptableUrl("the URL must be https")
    if parts.username or parts.password:
        raise UnacceptableUrl("the URL must not carry credentials")
    if parts.fragment:
        raise UnacceptableUrl("the URL must not have a fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise UnacceptableUrl("the URL has no host")
    try:
        literal = ipaddress.ip_address(host)
        addresses = [str(literal)]
    except ValueError:
        if _is_loopback_name(host):
            addresses = ["127.0.0.1"]
        else:
            try:
                addresses = resolve(host)
            except (OSError, UnicodeError, ValueError):  # no such name, or not a name at all (IDNA)
                raise UnacceptableUrl(f"the host {host} does not resolve") from None
    if not addresses:
        raise UnacceptableUrl(f"the host {host} does not resolve")
    ips = [ipaddress.ip_address(a.split("%", 1)[0]) for a in addresses]
    loopback = all(ip.is_loopback for ip in ips)
    if parts.scheme == "http" and not (dev_mode and loopback):
        raise UnacceptableUrl("the URL must be https (plain http only to loopback in dev mode)")
    if dev_mode and loopback:
        return
    for ip in ips:
        mapped = getattr(ip, "ipv4_mapped", None)
        ip = mapped or ip
        if not ip.is_global or ip.is_multicast:
            raise UnacceptableUrl(f"the host {host} resolves to {ip}, which is not a public address "
                                  "(private, loopback, link-local and metadata addresses are refused)")
