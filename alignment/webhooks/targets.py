"""Where a delivery may go: http(s) URLs, and not the server's own network unless allowed.

Checked when a subscription is made and again at every delivery (a name can start pointing
elsewhere after it was accepted). At delivery the host is resolved once, every address it
resolves to is checked, and the connection goes to a checked address (`Target.addresses`):
the HTTP client never resolves the name again, so a DNS answer that changes between the check
and the connection (rebinding) cannot send the request to a private address.

Refused (unless GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE=true): any address that is not global
unicast (private, loopback, link-local, site-local, shared/CGNAT 100.64/10, multicast,
reserved, unspecified, documentation…) and every IPv6 address that embeds an IPv4 address
(IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64), whose IPv4 part a gateway may reach.
Refusals say why in general terms and never echo what a name resolved to, so a caller cannot
use them to probe internal DNS.

Ports: 80, 443 and the unprivileged ports 1024-65535, whatever the address rules. A port under
1024 is a system service (SSH, SMTP, DNS, LDAP…) that speaks no webhooks; letting a URL name one
would let a caller point our POSTs at another server's mail or directory service.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import httpx

from alignment.errors import Invalid
from alignment.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_SHARED = ipaddress.ip_network("100.64.0.0/10")  # CGNAT; not global, stated for clarity
_EMBEDS_IPV4 = tuple(
    ipaddress.ip_network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated), also :: and ::1
        "::ffff:0:0:0/96",  # SIIT IPv4-translated
        "64:ff9b::/96",  # NAT64, well-known prefix
        "64:ff9b:1::/48",  # NAT64, local use
        "2002::/16",  # 6to4
        "2001::/32",  # Teredo
    )
)
_NOT_PUBLIC = "its host does not resolve, or resolves to a private or reserved address"
_WEB_PORTS = (80, 443)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`addresses`, in resolver order) and what to say."""

    url: httpx.URL
    host: str  # ASCII (IDNA) host name or IP literal: what is resolved, SNI, certificate name
    port: int
    addresses: tuple[str, ...]

    @property
    def is_ip_literal(self) -> bool:
        return _literal(self.host) is not None

    def pinned_url(self, address: str) -> httpx.URL:
        """The URL with its host replaced by `address`, so nothing resolves the name again."""
        return self.url.copy_with(host=address)

    @property
    def host_header(self) -> str:
        return self.url.netloc.decode("ascii")

    @property
    def extensions(self) -> dict[str, str]:
        """For https, the certificate is checked against the name, not the pinned address."""
        if self.url.scheme == "https" and not self.is_ip_literal:
            return {"sni_hostname": self.host}
        return {}


def refusal(address: IPAddress) -> str | None:
    """Why an address may not receive deliveries, or None when it is public."""
    private = "is a private or reserved address"
    if address.is_loopback or address.is_unspecified:
        return private
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return private
        if (
            address.ipv4_mapped
            or address.sixtofour
            or address.teredo
            or any(address in net for net in _EMBEDS_IPV4)
        ):
            return "embeds an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, Teredo or NAT64)"
        if address.is_site_local:
            return private
    if (
        not address.is_global
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address in _SHARED
    ):
        return private
    return None


def check_url(url: str, *, path: str = "$.url", resolve: bool = True) -> None:
    """At subscription: refuse a URL a delivery may not go to (Invalid naming `path`). With
    private addresses allowed the host is still resolved: a name with no address would only
    fail every delivery later."""
    _parse(url, path)
    if resolve:
        resolve_target(url, path=path)


def resolve_target(url: str, *, path: str = "$.url") -> Target:
    """At delivery: resolve the host once and check every address; the delivery connects to
    these addresses only. With private addresses allowed nothing is refused, but the
    addresses are still pinned."""
    parsed = _parse(url, path)
    host = parsed.raw_host.decode("ascii")
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    allow_private = get_settings().webhooks.allow_private
    literal = _literal(host)
    if literal is not None:
        reason = refusal(literal)
        if reason and not allow_private:
            raise _refused(path, f"its host {reason}")
        return Target(parsed, host, port, (str(literal),))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        resolved = [ipaddress.ip_address(info[4][0]) for info in infos]
    except (OSError, UnicodeError, ValueError) as exc:
        raise _unresolved(path, host, allow_private) from exc
    if not resolved:
        raise _unresolved(path, host, allow_private)
    if not allow_private and any(refusal(a) for a in resolved):
        raise _refused(path, _NOT_PUBLIC)
    return Target(parsed, host, port, tuple(dict.fromkeys(str(a) for a in resolved)))


def _unresolved(path: str, host: str, allow_private: bool) -> Invalid:
    if not allow_private:
        # One answer for a name that does not resolve and for one that resolves to an
        # internal address: telling them apart would let a caller probe internal DNS.
        return _refused(path, _NOT_PUBLIC)
    # Internal addresses are accepted here anyway, so saying which name failed reveals nothing.
    return Invalid(
        "the webhook URL is refused: its host does not resolve",
        details=[{"path": path, "message": f"{host[:200]!r} has no address to deliver to"}],
    )


def _parse(url: str, path: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.raw_host)
        parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, TypeError, UnicodeError):
        ok = False
    if not ok:
        raise Invalid(
            "a webhook URL must be http(s) with a host",
            details=[{"path": path, "message": f"{url[:200]!r} is not an http(s) URL"}],
        )
    if parsed.userinfo:
        raise Invalid(
            "a webhook URL must not carry credentials (the signature authenticates us)",
            details=[{"path": path, "message": "remove user:password@ from the URL"}],
        )
    port = parsed.port
    if port is not None and port not in _WEB_PORTS and not 1024 <= port <= 65535:
        why = "is a system service's port" if 0 < port < 1024 else "is no TCP port"
        raise Invalid(
            f"the webhook URL is refused: port {port} {why}",
            details=[
                {
                    "path": path,
                    "message": "deliveries go to ports 80, 443 or 1024-65535 only",
                }
            ],
        )
    return parsed


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _refused(path: str, why: str) -> Invalid:
    return Invalid(
        f"the webhook URL is refused: {why}",
        details=[
            {
                "path": path,
                "message": "deliveries go only to public addresses: private, loopback, "
                "link-local, reserved and IPv4-embedding IPv6 addresses are refused; "
                "GOLDENTHREAD_WEBHOOKS_ALLOW_PRIVATE=true delivers inside your network",
            }
        ],
    )
