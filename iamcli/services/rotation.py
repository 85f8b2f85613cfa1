"""Rotating an API key as one safe step, resumable after any interruption.

The steps, in order, each safe to repeat:

1. ``--file`` is written first, *before* the successor exists, holding ``rotated_from`` (the
   old key's ID) and, on IBM Cloud, the successor's value, chosen here (IBM's pass-through
   keys): a crash at any later point cannot lose the new value. (ICP picks values itself; its
   file records which keys of that name existed, so that a successor whose value was lost in
   a crash is recognised, deleted and made again, as a create whose answer is lost is.)
2. The successor is created: same name, description and lock; IBM's ``action_when_leaked``
   and ``expires_at`` carried over.
3. ``--file`` is rewritten (0600, atomically) as the key export, with the successor's ID.
4. The successor proves itself by minting a token.
5. If the profile logs in with the old key, its stored credential moves to the successor (and
   its cached token to the one just minted).
6. Only then is the old key disabled, deleted or kept (``--old``).

The state of a rotation in progress is the ``--file`` itself plus what the server says:
running the same command again finds the file, sees how far it got (successor missing, made,
proved; old key active, disabled, gone) and finishes. Every failure or interruption after
step 1 says which keys are active and that the same command finishes the job.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .. import credentials, token_cache
from ..errors import (
    AuthError,
    FileExportError,
    IamcliError,
    Interrupted,
    NotFoundError,
    UsageError,
)
from ..flavors import Flavor
from ..keyfile import check_export_target, write_key_file
from ..models import ApiKey, Owner
from ..paths import ENV_KEYS
from ..session import Session, to_cached
from .identities import API_KEY_RE, AmbiguousName, create_api_key, export_record

OldAction = Literal["disable", "delete", "keep"]
OLD_ACTIONS: tuple[OldAction, ...] = ("disable", "delete", "keep")
FROM = "rotated_from"
EXISTING = "rotation_existing_ids"
# A test hook: `STEP` or `STEP:SIGNAL` stops this process at that step, as a crash or a
# Ctrl-C would, so that the tests can prove each interruption point recoverable.
STOP_AT = "IAMCLI_ROTATE_STOP_AT"
_PROOF_ATTEMPTS = 3


@dataclass(frozen=True)
class Rotation:
    old: ApiKey
    new: ApiKey
    old_action: OldAction
    old_was: str  # what happened to the old key: disabled, deleted, kept, or already ...
    moved_profile: bool
    resumed: bool


def default_old_action(flavor: Flavor) -> OldAction:
    return "disable" if flavor.supports_disable else "delete"


def rotate(
    session: Session,
    owner: Owner,
    key_ref: str,
    file: str,
    *,
    old_action: OldAction | None,
    force: bool,
    note: Callable[[str], None],
) -> Rotation:
    flavor = session.flavor()
    action = old_action or default_old_action(flavor)
    if action == "disable" and not flavor.supports_disable:
        raise UsageError(
            f"--old disable: API keys cannot be disabled on the {flavor.name} API family",
            hint="use --old delete or --old keep",
        )
    if file == "-":
        raise UsageError("--file must name a file: it holds the rotation while it runs")
    state = _read_state(file)
    resumed = state is not None
    if state is None:
        old = _resolve_old(flavor, owner, key_ref)
        check_export_target(file, force=force)
        state = _pending(flavor, owner, old)
        write_key_file(file, state, force=force, stdout=sys.stdout)
        _checkpoint("pending")
    else:
        old = _old_of(flavor, owner, state, key_ref)
    try:
        new = _successor(flavor, owner, old, state, note)
        _checkpoint("created")
        if state.get("id") != new.id:
            record = export_record(new, iam_id=_owner_iam_id(owner), account_id=flavor.account_id)
            write_key_file(file, {**record, FROM: old.id}, force=True, stdout=sys.stdout)
        _checkpoint("saved")
        assert new.apikey is not None
        grant = _prove(flavor, new.apikey)
        _checkpoint("proved")
        moved = _move_profile(session, flavor, owner, old, new, grant, note)
        _checkpoint("moved")
        was = _retire(flavor, old, action)
        _checkpoint("retired")
    except KeyboardInterrupt:
        raise Interrupted("Interrupted", hint=_resume_hint(old, file)) from None
    except IamcliError as exc:
        if exc.hint is None:
            exc.hint = _resume_hint(old, file)
        raise
    return Rotation(old, new, action, was, moved, resumed)


def _resume_hint(old: ApiKey, file: str) -> str:
    return (
        f"the rotation of API key {old.id} is not finished: the old key is still active, and "
        f"so may be its successor (saved in {file}); run the same command again to finish"
    )


def _checkpoint(step: str) -> None:
    wanted = os.environ.get(STOP_AT, "")
    name, _, sig = wanted.partition(":")
    if name == step:
        import signal

        os.kill(os.getpid(), getattr(signal, "SIG" + (sig or "KILL").upper()))


# -- the old key ----------------------------------------------------------------------------


def _resolve_old(flavor: Flavor, owner: Owner, ref: str) -> ApiKey:
    ref = ref.strip()
    keys = list(flavor.api_keys(owner))
    if API_KEY_RE.match(ref):
        found = [k for k in keys if k.id == ref]
    else:
        found = [k for k in keys if k.name == ref]
        # An earlier rotation kept a disabled key of the same name: the active one is meant.
        if len(found) > 1 and sum(not k.disabled for k in found) == 1:
            found = [k for k in found if not k.disabled]
    if not found:
        whose = "this service ID" if owner.service_id else "the current identity"
        raise NotFoundError(f"API key {ref!r} not found among the keys of {whose}", status=404)
    if len(found) > 1:
        ids = ", ".join(k.id for k in found)
        raise AmbiguousName(
            f"{len(found)} API keys are named {ref!r}: {ids}", hint="name it by its ID instead"
        )
    return found[0]


def _old_of(flavor: Flavor, owner: Owner, state: dict[str, Any], ref: str) -> ApiKey:
    old_id = str(state[FROM])
    ref = ref.strip()
    try:
        old = flavor.api_key(old_id)
    except NotFoundError:
        # Deleted by an earlier run of this rotation (--old delete): its name is the state's.
        old = ApiKey(id=old_id, name=str(state.get("name") or ref), disabled=True)
    if not _belongs(old, owner):
        raise UsageError(f"the file holds the rotation of API key {old.id} of another owner")
    if ref not in (old.id, old.name):
        raise UsageError(
            f"the file holds the rotation of API key {old.id} ({old.name}), not of {ref!r}",
            hint="give the same KEY as the first run, or another --file",
        )
    return old


def _belongs(key: ApiKey, owner: Owner) -> bool:
    sid = owner.service_id
    if sid is None or (key.disabled and key.iam_id is None and key.bound_to is None):
        return True  # the caller's own keys are checked by the server; a deleted key is gone
    if key.iam_id is not None and sid.iam_id is not None:
        return key.iam_id == sid.iam_id
    if key.bound_to is not None and sid.crn is not None:
        return key.bound_to == sid.crn
    return True


# -- the state file -------------------------------------------------------------------------


def _read_state(file: str) -> dict[str, Any] | None:
    """The rotation in FILE, or None when FILE does not hold one (then it must not exist, or
    --force must allow replacing it, as for any --file)."""
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FileExportError(f"cannot use {file}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        raw = os.read(fd, 64 * 1024) if st.st_size <= 64 * 1024 else b""
    finally:
        os.close(fd)
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get(FROM), str):
        return None
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise FileExportError(
            f"{file} holds a rotation but is not a private file of yours (0600); refusing it"
        )
    if not API_KEY_RE.match(data[FROM]):
        return None
    return data


def _pending(flavor: Flavor, owner: Owner, old: ApiKey) -> dict[str, Any]:
    value = None
    if flavor.chooses_values:
        from ..flavors.cloud import new_key_value

        value = new_key_value()
    state: dict[str, Any] = {
        "name": old.name,
        "description": old.description or "",
        "apikey": value or "",
        "createdAt": "",
        "id": "",
        "iam_id": old.iam_id or _owner_iam_id(owner) or "",
        "account_id": old.account_id or flavor.account_id or "",
        FROM: old.id,
    }
    if value is None:
        state[EXISTING] = [k.id for k in flavor.api_keys(owner) if k.name == old.name]
    return state


def _owner_iam_id(owner: Owner) -> str | None:
    return owner.service_id.iam_id if owner.service_id else None


# -- the successor --------------------------------------------------------------------------


def _successor(
    flavor: Flavor, owner: Owner, old: ApiKey, state: dict[str, Any], note: Callable[[str], None]
) -> ApiKey:
    value = state.get("apikey") or None
    if state.get("id"):
        try:
            made = flavor.api_key(str(state["id"]))
        except NotFoundError:
            raise UsageError(
                f"the successor {state['id']} saved in the rotation file no longer exists",
                hint="remove the file and rotate again; the old key was not touched",
            ) from None
        from dataclasses import replace

        return replace(made, apikey=value)
    if value is not None:
        found = flavor.api_key_by_value(value)
        if found is not None:
            return found
    else:
        # The value of a successor made by an earlier, interrupted run was never saved: it
        # cannot be used, so it is removed before a new one is made.
        existing = set(state.get(EXISTING) or [])
        for orphan in flavor.api_keys(owner):
            if orphan.name == old.name and orphan.id not in existing and orphan.id != old.id:
                note(f"removing {orphan.id}, made by an interrupted rotation without its value")
                flavor.delete_api_key(orphan.id)
    return create_api_key(
        flavor,
        owner,
        old.name,
        old.description,
        locked=old.locked,
        note=note,
        like=old,
        value=value,
    )


def _prove(flavor: Flavor, value: str) -> Any:
    from ..http import back_off

    for attempt in range(_PROOF_ATTEMPTS):
        try:
            return flavor.token_from_apikey(value)
        except AuthError:
            # A key just made may take a moment to reach every IAM node (UNCONFIRMED for IBM;
            # harmless where it does not): a refusal is asked again a few times.
            if attempt == _PROOF_ATTEMPTS - 1:
                raise
            back_off(attempt)
    raise AssertionError("unreachable")


# -- the profile ----------------------------------------------------------------------------


def _move_profile(
    session: Session,
    flavor: Flavor,
    owner: Owner,
    old: ApiKey,
    new: ApiKey,
    grant: Any,
    note: Callable[[str], None],
) -> bool:
    """Move the profile's stored key to the successor if it is the old key; True if moved."""
    assert new.apikey is not None
    found = credentials.resolve_api_key(session.profile_name, None, stdin=None)
    profile = session.profile
    if found is None or found[0] == new.apikey:
        return False
    value, source = found
    if not _is_key(flavor, value, old, owner, session):
        return False
    if source in ENV_KEYS:
        note(
            f"{source} holds the old key {old.id}: put the new key (from the file) where the "
            "variable comes from"
        )
        return False
    if profile is None or profile.has_refresh_token or profile.secret_store == "env":
        return False
    credentials.store_secrets(
        profile.name, new.apikey, None, insecure=profile.secret_store == "file"
    )
    token = to_cached(
        grant,
        endpoint=profile.endpoint,
        iam_id=profile.iam_id,
        credential=token_cache.credential_id(profile.name, None),
    )
    try:
        token_cache.save(profile.name, token)
    except IamcliError as exc:
        note(f"could not cache the new key's token: {exc.message}")
    return True


def _is_key(flavor: Flavor, value: str, old: ApiKey, owner: Owner, session: Session) -> bool:
    """Whether VALUE is the old key. IBM Cloud looks keys up by value; ICP cannot, so there a
    key of the same identity counts (moving a profile to a proven key of its own identity
    loses nothing)."""
    found = flavor.api_key_by_value(value) if flavor.chooses_values else None
    if found is not None:
        return found.id == old.id
    if flavor.chooses_values:
        return False
    profile = session.profile
    owner_iam = _owner_iam_id(owner)
    if owner.is_self:
        return True
    return profile is not None and owner_iam is not None and profile.iam_id == owner_iam


# -- the old key's end ----------------------------------------------------------------------


def _retire(flavor: Flavor, old: ApiKey, action: OldAction) -> str:
    if action == "keep":
        return "kept"
    try:
        current = flavor.api_key(old.id)
    except NotFoundError:
        return "already deleted"
    if action == "delete":
        flavor.delete_api_key(old.id)
        return "deleted"
    if current.disabled:
        return "already disabled"
    flavor.disable_api_key(old.id)
    return "disabled"
