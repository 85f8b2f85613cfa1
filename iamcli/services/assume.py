"""`trusted-profile-assume` and `trusted-profile-leave`: a local profile acting as a trusted
profile.

The local profile keeps its own login (API key, refresh token or compute resource) and
remembers which trusted profile it assumed; every new token is the login's own, traded at once
with IBM's assume grant (session.Session._mint). Nothing secret is added. The change and the
cached token are written under the profile's refresh lock, so a concurrent refresh never caches
a token of the other side.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import config, token_cache
from ..errors import ProtocolError
from ..paths import env_api_key_name
from ..session import Session, not_logged_in, to_cached


@dataclass(frozen=True)
class Assumed:
    id: str
    name: str

    @property
    def iam_id(self) -> str:
        return f"iam-{self.id}"

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "iam_id": self.iam_id}


def assumed(session: Session) -> Assumed | None:
    p = session.profile
    if p is None or not p.assumed_profile_id:
        return None
    return Assumed(p.assumed_profile_id, p.assumed_profile_name or "")


def assume(session: Session, ref: str) -> Assumed:
    from .trusted_profiles import profile_ref

    p = session.profile
    if p is None:
        # The choice has to be remembered by a profile; an environment key alone has none.
        raise not_logged_in(session.profile_name, "assuming a trusted profile needs a login")
    flavor = session.flavor(authenticated=False)
    named = profile_ref(ref, account=p.account_id)
    # The login's own token: a profile token cannot assume another profile.
    own = session.access_token() if p.assumed_profile_id is None else None
    own_token = own.access_token if own is not None else session.own_grant().access_token
    with token_cache.refresh_lock(session.profile_name):
        grant = flavor.token_from_assume(own_token, named)
        who = flavor.whoami(grant.access_token)
        if who.kind != "profile" or not who.subject:
            raise ProtocolError(f"{flavor.where} answered the assume grant with no profile token")
        result = Assumed(who.subject, who.name)
        # The login's own cached token must not outlive the change, even if what follows fails.
        token_cache.clear(session.profile_name)
        _save(session, assumed_profile_id=result.id, assumed_profile_name=result.name)
        token_cache.save(
            session.profile_name,
            to_cached(
                grant,
                endpoint=session.target().endpoint,
                iam_id=who.iam_id,
                credential=token_cache.credential_id(session.profile_name, env_api_key_name()),
            ),
        )
    return result


def leave(session: Session) -> Assumed | None:
    current = assumed(session)
    if current is None or session.profile is None:
        return None
    with token_cache.refresh_lock(session.profile_name):
        # The cached token is the profile's: it goes with the choice.
        token_cache.clear(session.profile_name)
        _save(session, assumed_profile_id=None, assumed_profile_name=None)
    return current


def _save(session: Session, **changes: str | None) -> None:
    # Read again: a login or a setting may have changed the profile since this run started.
    current = config.load_profile(session.profile_name) or session.profile
    assert current is not None
    profile = dataclasses.replace(current, **changes)  # type: ignore[arg-type]
    config.save_profile(profile)
    session.profile = profile
