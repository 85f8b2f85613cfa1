"""A login and a logout of one profile at the same time leave the profile and its secret in
agreement: both there, or both gone. Through the real Secret Service under `make test`."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from iamcli import config
from iamcli.output import Output
from iamcli.services import auth
from support import Emulator, stored_secret


def test_a_logout_during_a_login_waits_for_it(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(emulator.a.apikey)
    reached, release = threading.Event(), threading.Event()
    real_save = config.save_profile

    def slow_save(profile: config.Profile, **kwargs: object) -> None:
        # The login has stored its secret and is about to save the profile: the moment a
        # logout running alongside could slip in between.
        if threading.current_thread().name == "login":
            reached.set()
            assert release.wait(30)
        real_save(profile, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(config, "save_profile", slow_save)
    errors: list[BaseException] = []

    def run(target: object) -> None:
        try:
            target()  # type: ignore[operator]
        except BaseException as exc:
            errors.append(exc)

    def login() -> None:
        request = auth.LoginRequest(profile="race", endpoint=emulator.url, apikey=f"@{key_file}")
        out = Output(stderr=io.StringIO())
        auth.login(request, out=out, stdin=io.StringIO(), prompt=None, trace=None)

    logging_in = threading.Thread(target=run, args=(login,), name="login")
    logging_out = threading.Thread(target=run, args=(lambda: auth.logout("race"),))
    logging_in.start()
    assert reached.wait(30)
    logging_out.start()
    logging_out.join(1.0)  # time for a logout that does not wait to do its damage
    release.set()
    logging_in.join(30)
    logging_out.join(30)
    assert errors == []
    profile, secret = config.load_profile("race"), stored_secret("race", "apikey")
    # The logout came second: it forgot both.
    assert (profile, secret) == (None, None)
