"""IAM endpoint URLs as users type them, made canonical (stdlib only: on the fast path)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import UsageError

DEFAULT_ENDPOINT = "https://iam.cloud.ibm.com"
# `ibmcloud login -a cloud.ibm.com` names the platform; its IAM server is iam.<that host>.
_PLATFORM_HOSTS = {"cloud.ibm.com", "test.cloud.ibm.com"}
# IBM's SDKs take a URL with or without the token path and strip it; so do we.
_STRIPPED_SUFFIXES = ("/identity/token", "/identity", "/iam-token/oidc/token", "/iam-token")


def normalize_endpoint(value: str) -> str:
    """`scheme://host[:port][/prefix]` for what a user typed, or UsageError saying why not."""
    text = value.strip()
    if not text:
        raise UsageError("the endpoint is empty")
    if any(c.isspace() for c in text):
        raise UsageError(f"the endpoint {value!r} contains white space")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced "[" of an IPv6 address
        raise UsageError(f"the endpoint {value!r} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UsageError(f"the endpoint must be an http:// or https:// URL, not {scheme}://")
    if parts.username is not None or parts.password is not None:
        raise UsageError(
            "the endpoint must not carry a user name or password",
            hint="pass credentials with --apikey or -u/-p instead",
        )
    if parts.query or parts.fragment:
        raise UsageError("the endpoint must not have a query string or fragment")
    host = (parts.hostname or "").lower()
    if not host:
        raise UsageError(f"the endpoint {value!r} has no host name")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"the endpoint {value!r} has an invalid port") from None
    if host in _PLATFORM_HOSTS:
        host = "iam." + host
    path = parts.path.rstrip("/")
    for suffix in _STRIPPED_SUFFIXES:
        if path.endswith(suffix):
            path = path[: -len(suffix)].rstrip("/")
            break
    shown_host = f"[{host}]" if ":" in host else host
    default_port = {"http": 80, "https": 443}[scheme]
    netloc = shown_host if port in (None, default_port) else f"{shown_host}:{port}"
    return f"{scheme}://{netloc}{path}"


def is_loopback(endpoint: str) -> bool:
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
