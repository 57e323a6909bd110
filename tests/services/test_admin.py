"""The admin passphrase: scrypt at current strength, upgraded on unlock; a rate-limited unlock."""

from __future__ import annotations

import hashlib
import json

import pytest

from tests.conftest import PROTOCOLS
from wbsdesk.errors import UserError
from wbsdesk.services import admin
from wbsdesk.services.studies import create_study
from wbsdesk.services.workspace import open_workspace


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _old_record(passphrase: str) -> str:
    """A hash exactly as the first version stored it (scrypt N=2^14)."""
    salt = bytes(range(16))
    digest = hashlib.scrypt(passphrase.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32,
                            maxmem=64 * 1024 * 1024)
    return json.dumps({"algorithm": "scrypt", "n": 2**14, "r": 8, "p": 1, "dklen": 32,
                       "salt": salt.hex(), "hash": digest.hex()}, sort_keys=True)


def _actions(ws):
    return [e["action"] for e in ws.store.audit_log()]


def test_new_hashes_use_current_scrypt_guidance(ws):
    assert admin.SCRYPT_PARAMS == {"n": 2**17, "r": 8, "p": 1, "dklen": 32}
    admin.set_passphrase(ws, "correct horse")
    record = json.loads(ws.store.setting(admin.SETTING_KEY))
    assert (record["n"], record["r"], record["p"]) == (2**17, 8, 1)
    assert admin.verify_passphrase(ws, "correct horse")


def test_an_old_hash_still_unlocks_and_is_upgraded_only_by_a_right_passphrase(ws):
    ws.store.set_setting(admin.SETTING_KEY, _old_record("correct horse"))
    old = ws.store.setting(admin.SETTING_KEY)
    assert admin.verify_passphrase(ws, "correct horse")  # a plain check rewrites nothing
    with pytest.raises(UserError, match="not the admin passphrase"):
        admin.unlock(ws, "wrong horse")
    assert ws.store.setting(admin.SETTING_KEY) == old  # a wrong attempt does not upgrade
    admin.unlock(ws, "correct horse")
    record = json.loads(ws.store.setting(admin.SETTING_KEY))
    assert (record["n"], record["r"], record["p"]) == (2**17, 8, 1)
    assert record["salt"] != json.loads(old)["salt"]
    assert admin.verify_passphrase(ws, "correct horse")
    assert not admin.verify_passphrase(ws, "wrong horse")
    assert _actions(ws)[-1] == "admin_unlock"
    assert ws.store.audit_log()[-1]["detail"] == {"rehashed_n": 2**17}


def test_wrong_attempts_wait_longer_each_time_and_survive_a_restart(tmp_path, fast_scrypt):
    root = tmp_path / "ws"
    clock = Clock()
    with open_workspace(root) as ws:
        admin.set_passphrase(ws, "correct horse")
        for n in (1, 2):
            with pytest.raises(UserError) as wrong:
                admin.unlock(ws, f"guess {n}", clock=clock)
            assert str(wrong.value) == admin.WRONG and wrong.value.hint is None
        with pytest.raises(UserError) as third:
            admin.unlock(ws, "guess 3", clock=clock)
        assert third.value.hint == "Too many wrong passphrases: try again in 5 s."
        # while waiting, even the right passphrase is not looked at (and not counted)
        clock.t += 4.2
        with pytest.raises(UserError, match="try again in 1 s"):
            admin.unlock(ws, "correct horse", clock=clock)
        clock.t += 1.0
        with pytest.raises(UserError) as fourth:
            admin.unlock(ws, "guess 4", clock=clock)
        assert fourth.value.hint == "Too many wrong passphrases: try again in 10 s."
    with open_workspace(root) as ws:  # the app restarts: the wait is still there
        assert admin.unlock_wait(ws, clock=clock) == pytest.approx(10.0)
        clock.t += 10.0
        admin.unlock(ws, "correct horse", clock=clock)
        assert admin.unlock_wait(ws, clock=clock) == 0.0
        with pytest.raises(UserError) as again:  # the count starts afresh after an unlock
            admin.unlock(ws, "guess 5", clock=clock)
        assert again.value.hint is None
        actions = _actions(ws)
    assert actions.count("admin_unlock_failed") == 5 and actions.count("admin_unlock") == 1


def test_the_delay_doubles_up_to_a_cap_and_a_turned_back_clock_does_not_lock_forever(
        ws, fast_scrypt):
    assert [admin.retry_delay(n) for n in range(1, 9)] == [0, 0, 5, 10, 20, 40, 80, 160]
    assert admin.retry_delay(50) == admin.MAX_DELAY_S == 300
    ws.store.set_setting(admin.FAILURES_KEY, json.dumps({"failures": 9, "until": 1e12}))
    assert admin.unlock_wait(ws, clock=Clock(1e9)) == admin.MAX_DELAY_S


def test_unlocking_without_a_passphrase_sets_nothing(ws):
    with pytest.raises(UserError, match="No admin passphrase has been set up"):
        admin.unlock(ws, "whatever I type")
    assert not admin.has_passphrase(ws)


def test_forgetting_the_passphrase_also_clears_the_wait(ws, fast_scrypt):
    admin.set_passphrase(ws, "correct horse")
    for n in range(3):
        with pytest.raises(UserError):
            admin.unlock(ws, f"guess {n}")
    assert admin.unlock_wait(ws) > 0
    admin.forget_passphrase(ws)
    assert admin.unlock_wait(ws) == 0 and not admin.has_passphrase(ws)


def test_idle_lock_minutes_come_from_the_strictest_study(ws, tmp_path):
    assert admin.idle_lock_minutes(ws) == admin.DEFAULT_IDLE_LOCK_MINUTES == 5.0
    create_study(ws, "paper", PROTOCOLS / "liu2021_wbs.toml")
    assert admin.idle_lock_minutes(ws) == 5.0
    text = (PROTOCOLS / "demo.toml").read_text() + "\n[kiosk]\nidle_lock_minutes = 2\n"
    (tmp_path / "strict.toml").write_text(text)
    create_study(ws, "strict", tmp_path / "strict.toml")
    assert admin.idle_lock_minutes(ws) == 2.0
