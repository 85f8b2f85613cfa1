"""What the account-settings, template and limit command tests share: the CLI run in its own
process, logged in by environment, IBM's SDK on the same server, and readers of the output."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ibm_cloud_sdk_core.authenticators import IAMAuthenticator
from ibm_platform_services import IamIdentityV1

from support import Emulator


def sdk_for(emulator: Emulator, apikey: str) -> IamIdentityV1:
    service = IamIdentityV1(authenticator=IAMAuthenticator(apikey, url=emulator.url))
    service.set_service_url(emulator.url)
    return service


def runner(cli_process: Callable[..., Any], emulator: Emulator) -> Callable[..., Any]:
    """`iamcli ARGS` in its own process, as account A's admin unless another key is given."""

    def run(*args: str, apikey: str | None = None, flavor: str = "cloud") -> Any:
        env = {
            "IAMCLI_API_KEY": apikey or emulator.a.apikey,
            "IAMCLI_ENDPOINT": emulator.url,
            "IAMCLI_FLAVOR": flavor,
        }
        return cli_process(*args, env=env)

    return run


def ok_json(r: Any) -> Any:
    assert r.code == 0, r.stderr
    return json.loads(r.stdout)


def record(r: Any) -> dict[str, str]:
    """A key/value block (labels and values apart by three spaces or more)."""
    assert r.code == 0, r.stderr
    pairs = [line.split("   ", 1) for line in r.out_lines]
    return {k.strip(): v.strip() for k, v in pairs}


def table(r: Any) -> list[list[str]]:
    assert r.code == 0, r.stderr
    return [[c.strip() for c in line.split("   ") if c.strip()] for line in r.out_lines]


def failure(r: Any, code: int) -> str:
    """The one-line message of a failed run with exit code CODE (nothing on stdout)."""
    assert r.code == code, (r.code, r.stdout, r.stderr)
    assert r.stdout == "" and "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert "FAILED" in lines, r.stderr
    return str(lines[lines.index("FAILED") + 1])
