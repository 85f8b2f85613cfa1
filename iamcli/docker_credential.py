"""`docker-credential-iamcli`: a Docker credential helper for IBM Cloud Container Registry.

Docker runs ``docker-credential-iamcli get`` with the registry on stdin (``us.icr.io``, or
``https://us.icr.io``, with or without a newline) and reads ``{"ServerURL", "Username",
"Secret"}`` from stdout. For ``icr.io`` and its regional hosts (``<region>.icr.io``,
``private.<region>.icr.io``) the answer is IBM's bearer login: user ``iambearer`` and a fresh
IAM access token of the profile (``IAMCLI_PROFILE``, else ``default``; ``IAMCLI_API_KEY`` works
as everywhere). Nothing is ever stored: ``store`` and ``erase`` are refused, ``list`` is empty.

Errors follow the helper protocol: one message line on stdout and exit status 1; an unknown
host gets the protocol's "credentials not found in native keychain", which makes Docker fall
back to its other credentials.

~/.docker/config.json::

    {"credHelpers": {"icr.io": "iamcli", "us.icr.io": "iamcli", "de.icr.io": "iamcli"}}
"""

from __future__ import annotations

import json
import sys

# The protocol's message for "no credentials here"; Docker recognises it by its text.
NOT_FOUND = "credentials not found in native keychain"
REGISTRY_DOMAIN = "icr.io"
# IBM's documented user name for logging in to the registry with an IAM access token.
BEARER_USER = "iambearer"
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")
_USAGE = "Usage: docker-credential-iamcli <get|store|erase|list|version>"


def registry_host(server_url: str) -> str | None:
    """The Container Registry host Docker named, or None for any other host."""
    text = server_url.strip().lower()
    for scheme in ("https://", "http://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
            break
    host = text.split("/", 1)[0]
    if host.endswith(":443"):
        host = host[:-4]
    if host == REGISTRY_DOMAIN:
        return host
    if not host.endswith("." + REGISTRY_DOMAIN):
        return None
    labels = host[: -len(REGISTRY_DOMAIN) - 1].split(".")
    if len(labels) > 2 or not all(
        label and set(label) <= _LABEL_CHARS and not label.startswith("-") for label in labels
    ):
        return None
    return host


def _fail(message: str) -> int:
    sys.stdout.write(message + "\n")
    sys.stdout.flush()
    return 1


def get(server_url: str) -> int:
    if registry_host(server_url) is None:
        return _fail(NOT_FOUND)
    from .config import select_profile_name
    from .errors import IamcliError
    from .output import Output
    from .session import Session

    try:
        profile = select_profile_name(None)
        session = Session(profile, out=Output(stdout=sys.stderr), stdin=None)
        try:
            token = session.access_token()
        finally:
            session.close()
    except IamcliError as exc:
        return _fail(f"iamcli: {exc.message}")
    answer = {
        "ServerURL": server_url.strip(),
        "Username": BEARER_USER,
        "Secret": token.access_token,
    }
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write(_USAGE + "\n")
        return 1
    action = args[0]
    if action == "get":
        return get(sys.stdin.read(4096))
    if action in ("store", "erase"):
        sys.stdin.read(64 * 1024)  # Docker writes the credentials; they are not kept
        return _fail(
            f"docker-credential-iamcli does not {action} credentials: it mints a fresh IAM "
            "token for each pull and push (log in with 'iamcli login' instead)"
        )
    if action == "list":
        sys.stdout.write("{}\n")
        return 0
    if action == "version":
        from . import __version__

        sys.stdout.write(f"docker-credential-iamcli (iamcli {__version__})\n")
        return 0
    sys.stderr.write(_USAGE + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
