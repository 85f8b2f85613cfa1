"""Value formats both of IBM's IAM API families share: timestamps, IDs, CRNs, key values.

Only the emulator uses this module. The client has its own readers of these formats, so that a
misreading of IBM's documents on one side is caught by the other side's tests.
"""

from __future__ import annotations

import re
import secrets
import string
import time
import uuid
from datetime import UTC, datetime

# IBM writes timestamps with minute precision and a colon-less offset: 2018-05-08T08:13+0000.
_IBM_TIME = "%Y-%m-%dT%H:%M+0000"
_ACCEPTED_TIMES = ("%Y-%m-%dT%H:%M%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")

ACCOUNT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# IBM allows pass-through API key values of at least 32 characters without white space.
APIKEY_VALUE_RE = re.compile(r"^\S{32,256}$")
SERVICE_ID_RE = re.compile(r"^ServiceId-[0-9a-f-]{36}$")
API_KEY_ID_RE = re.compile(r"^ApiKey-[0-9a-f-]{36}$")


def whole_number(text: str, low: int, high: int) -> int | None:
    """`text` as a number from `low` to `high`, if it is one written in ASCII digits; else None.

    Not `text.isdigit()` alone: that is also true of '²' (U+00B2) and of Arabic-Indic digits,
    which int() refuses (a 500) or reads as another number than the caller sees.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    value = int(text)
    return value if low <= value <= high else None


def now() -> int:
    return int(time.time())


def ibm_time(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime(_IBM_TIME)


def parse_ibm_time(text: str) -> int | None:
    """Epoch seconds of an IBM timestamp (minute or second precision), or None if malformed."""
    for fmt in _ACCEPTED_TIMES:
        try:
            return int(datetime.strptime(text, fmt).timestamp())
        except ValueError:
            continue
    return None


def new_account_id() -> str:
    return uuid.uuid4().hex


def new_service_id() -> str:
    return f"ServiceId-{uuid.uuid4()}"


def new_api_key_id() -> str:
    return f"ApiKey-{uuid.uuid4()}"


def new_user_iam_id() -> str:
    alphabet = string.digits + string.ascii_uppercase
    return "IBMid-" + "".join(secrets.choice(alphabet) for _ in range(10))


def new_api_key_value() -> str:
    """44 characters of [A-Za-z0-9_-]: 33 random bytes, the length of every IBM sample."""
    return secrets.token_urlsafe(33)


def cloud_crn(account_id: str, kind: str, entity_id: str) -> str:
    return f"crn:v1:bluemix:public:iam-identity::a/{account_id}::{kind}:{entity_id}"


def private_namespace_crn(cluster: str, namespace: str) -> str:
    return f"crn:v1:icp:private:k8:{cluster}:n/{namespace}:::"


def private_service_id_crn(cluster: str, namespace: str, service_id: str) -> str:
    return f"crn:v1:icp:private:iam-identity:{cluster}:n/{namespace}::serviceid:{service_id}"


def private_user_crn(username: str) -> str:
    return f"crn:v1:icp:private:iam-identity:::IBMid:user:{username}"


def private_api_key_crn(api_key_id: str) -> str:
    return f"crn:v1:icp:private:iam-identity::::apikey:{api_key_id}"


# ICP 3.1.0 wrote service-ID CRNs with service `k8` and no cluster; later releases use
# `iam-identity` and the cluster name. Both name the same service ID, so both are accepted.
_PRIVATE_SERVICE_ID_CRN = re.compile(
    r"^crn:v1:icp:private:(?:k8|iam-identity):[^:]*:n/(?P<ns>[^:]+)::serviceid:"
    r"(?P<id>ServiceId-[0-9a-f-]{36})$"
)
_PRIVATE_NAMESPACE_CRN = re.compile(r"^crn:v1:icp:private:k8:[^:]*:n/(?P<ns>[^:]+):::$")
_PRIVATE_USER_CRN = re.compile(r"^crn:v1:icp:private:iam-identity:::IBMid:user:(?P<user>[^:]+)$")


def parse_private_owner_crn(crn: str) -> tuple[str, str] | None:
    """('serviceid', ServiceId-…) or ('user', username) for an API key's boundTo, else None."""
    if m := _PRIVATE_SERVICE_ID_CRN.match(crn):
        return "serviceid", m["id"]
    if m := _PRIVATE_USER_CRN.match(crn):
        return "user", m["user"]
    return None


def parse_private_namespace_crn(crn: str) -> str | None:
    m = _PRIVATE_NAMESPACE_CRN.match(crn)
    return m["ns"] if m else None


def ms_time(epoch_ms: int) -> str:
    """The Policy Management API's timestamps: RFC 3339 with milliseconds and Z."""
    seconds, ms = divmod(epoch_ms, 1000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ms:03d}Z"
