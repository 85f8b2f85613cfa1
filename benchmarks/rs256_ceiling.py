"""What RS256 signing alone allows on this machine: the ceiling of any token server here.

    .venv/bin/python benchmarks/rs256_ceiling.py [--seconds S]

One process per core, each signing IBM-like access tokens (the claims of an API-key grant, a
fresh `jti` each) with PyJWT and an RSA-2048 key for S seconds, all starting at one moment;
prints tokens per CPU-second summed over the processes: on a quiet machine the same as
tokens/s, on a busy one still what the cores allow (so a ratio to it errs low, never high).
serve_load.py runs it in the same run as the token grant case, whose rate it divides by this.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid


def cores() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def ibm_like_claims(now: int) -> dict[str, object]:
    person = {
        "name": "Ada Admin",
        "given_name": "Ada",
        "family_name": "Admin",
        "email": "admin@example.com",
    }
    return {
        "iam_id": "IBMid-0123456789",
        "id": "IBMid-0123456789",
        "realmid": "IBMid",
        "jti": str(uuid.uuid4()),
        "identifier": "0123456789",
        **person,
        "sub": "admin@example.com",
        "authn": {"sub": "admin@example.com", "iam_id": "IBMid-0123456789", **person},
        "account": {"valid": True, "bss": "0123456789abcdef0123456789abcdef", "boundary": "global"},
        "iat": now,
        "exp": now + 3600,
        "iss": "http://127.0.0.1:8080/identity",
        "grant_type": "urn:ibm:params:oauth:grant-type:apikey",
        "scope": "ibm openid",
        "client_id": "default",
        "acr": 1,
        "amr": ["pwd"],
    }


def _worker(start_at: float, seconds: float) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    headers = {"kid": "20240101000000", "typ": None}
    jwt.encode(ibm_like_claims(int(time.time())), key, algorithm="RS256", headers=headers)
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    cpu = time.process_time()
    deadline = started + seconds
    count = 0
    while time.perf_counter() < deadline:
        jwt.encode(ibm_like_claims(int(time.time())), key, algorithm="RS256", headers=headers)
        count += 1
    # Per second of this process's own CPU: what a whole core allows, even on a machine busy
    # with other work (which would only lower a wall-clock rate, and make the ratio flatter).
    print(count / max(time.process_time() - cpu, 1e-9))


def measure(seconds: float) -> float:
    """Tokens per second, all cores signing at once."""
    start_at = time.time() + 1.5  # after every process has imported and made its key
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(start_at), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
            # A session of their own, as the server has: with the kernel's autogroup scheduling
            # each session gets its share of a busy machine, so both are measured alike.
            start_new_session=True,
        )
        for _ in range(cores())
    ]
    total = 0.0
    for proc in procs:
        out, _ = proc.communicate(timeout=seconds + 60)
        if proc.returncode != 0:
            raise RuntimeError(f"an RS256 signing process failed ({proc.returncode})")
        total += float(out.strip())
    return total


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--worker":
        _worker(float(sys.argv[2]), float(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    rate = measure(args.seconds)
    print(f"RS256 (PyJWT, RSA-2048), {cores()} processes: {rate:,.0f} tokens per CPU-second")


if __name__ == "__main__":
    main()
