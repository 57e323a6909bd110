"""The admin passphrase that locks the study lead's views away from reader mode.

The passphrase is set up by an explicit step of the study administrator (``wbsdesk admin
passphrase``, or the app's *Set up admin passphrase…*), never as the side effect of opening
an admin view. It is stored only as a salted scrypt hash with its parameters in the
workspace's settings; checks compare in constant time, and a hash made with weaker
parameters than :data:`SCRYPT_PARAMS` is rewritten at the next successful unlock.

Unlocking is rate-limited: after :data:`FREE_ATTEMPTS` wrong passphrases in a row, each
further attempt waits a delay that doubles (5 s, 10 s, 20 s, ... up to
:data:`MAX_DELAY_S`). The count and the time of the next allowed attempt are stored in the
workspace, so restarting the app does not reset them; wrong attempts and unlocks are
audited.

The passphrase keeps a physician at the reading kiosk away from imports, ground truth,
dashboards and other readers' sessions; it is not encryption (the workspace files are the
user's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from collections.abc import Callable

from wbsdesk.core.protocol import protocol_from_dict
from wbsdesk.errors import UserError
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

SETTING_KEY = "admin_passphrase"
FAILURES_KEY = "admin_unlock_failures"
MIN_LENGTH = 8
#: scrypt parameters of new hashes (current guidance: N=2^17, r=8, p=1; 128 MiB, ~0.4 s).
SCRYPT_PARAMS = {"n": 2**17, "r": 8, "p": 1, "dklen": 32}
_MAXMEM = 256 * 1024 * 1024
#: Wrong passphrases in a row before unlocking starts to wait.
FREE_ATTEMPTS = 3
FIRST_DELAY_S = 5.0
MAX_DELAY_S = 300.0
#: Minutes without input before unlocked admin views lock again, when no study says.
DEFAULT_IDLE_LOCK_MINUTES = 5.0

NOT_SET_UP = "No admin passphrase has been set up on this workspace yet."
WRONG = "That is not the admin passphrase."


def _derive(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=params["n"], r=params["r"],
                          p=params["p"], dklen=params["dklen"], maxmem=_MAXMEM)


def _record(passphrase: str) -> str:
    params = dict(SCRYPT_PARAMS)
    salt = secrets.token_bytes(16)
    return json.dumps({"algorithm": "scrypt", **params, "salt": salt.hex(),
                       "hash": _derive(passphrase, salt, params).hex()}, sort_keys=True)


def _params(record: dict[str, object]) -> dict[str, int]:
    return {k: int(record[k]) for k in ("n", "r", "p", "dklen")}  # type: ignore[call-overload]


def has_passphrase(ws: Workspace) -> bool:
    """Whether an admin passphrase has been set in this workspace."""
    return ws.store.setting(SETTING_KEY) is not None


def set_passphrase(ws: Workspace, passphrase: str, *, current: str | None = None) -> None:
    """Set (or change) the admin passphrase.

    Parameters
    ----------
    ws : Workspace
    passphrase : str
        At least 8 characters.
    current : str, keyword-only
        The present passphrase; required to change one that is already set.

    Raises
    ------
    UserError
        If the passphrase is too short or ``current`` does not match.
    """
    if len(passphrase) < MIN_LENGTH:
        raise UserError(f"the admin passphrase needs at least {MIN_LENGTH} characters")
    changing = has_passphrase(ws)
    if changing and not verify_passphrase(ws, current or ""):
        raise UserError("the current admin passphrase is not correct")
    record = _record(passphrase)
    with ws.store.atomic():
        ws.store.set_setting(SETTING_KEY, record)
        ws.store.delete_setting(FAILURES_KEY)
        ws.store.audit(None, "set_admin_passphrase",
                       {"algorithm": "scrypt", "n": SCRYPT_PARAMS["n"], "changed": changing})
    log.info("admin passphrase %s", "changed" if changing else "set up")


def verify_passphrase(ws: Workspace, attempt: str) -> bool:
    """Whether ``attempt`` is the admin passphrase (``False`` when none is set).

    A plain check: no attempt limit, no rehash (see :func:`unlock` for the app's).
    """
    raw = ws.store.setting(SETTING_KEY)
    if raw is None:
        return False
    record = json.loads(raw)
    got = _derive(attempt, bytes.fromhex(record["salt"]), _params(record))
    return hmac.compare_digest(got, bytes.fromhex(record["hash"]))


def retry_delay(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` wrong ones in a row.

    Examples
    --------
    >>> [retry_delay(n) for n in (0, 2, 3, 4, 5, 12)]
    [0.0, 0.0, 5.0, 10.0, 20.0, 300.0]
    """
    if failures < FREE_ATTEMPTS:
        return 0.0
    return min(FIRST_DELAY_S * 2.0 ** (failures - FREE_ATTEMPTS), MAX_DELAY_S)


def _failures(ws: Workspace) -> tuple[int, float]:
    """(wrong attempts in a row, wall time before which no attempt is taken)."""
    raw = ws.store.setting(FAILURES_KEY)
    if raw is None:
        return 0, 0.0
    try:
        state = json.loads(raw)
        return int(state["failures"]), float(state["until"])
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable admin unlock state %r; counting from the limit", raw)
        return FREE_ATTEMPTS, 0.0


def unlock_wait(ws: Workspace, *, clock: Callable[[], float] = time.time) -> float:
    """Seconds before the next unlock attempt is taken (0 when one can be made now).

    A wait longer than :data:`MAX_DELAY_S` (the clock was turned back) counts as
    :data:`MAX_DELAY_S`.
    """
    _, until = _failures(ws)
    return min(max(until - clock(), 0.0), MAX_DELAY_S)


def wait_message(seconds: float) -> str:
    """``Too many wrong passphrases: try again in N s.`` (N rounded up)."""
    return f"Too many wrong passphrases: try again in {math.ceil(seconds)} s."


def unlock(ws: Workspace, attempt: str, *, clock: Callable[[], float] = time.time) -> None:
    """Check an unlock attempt of the admin views, with the attempt limit.

    A correct passphrase clears the count of wrong ones and, if the stored hash uses
    weaker scrypt parameters than :data:`SCRYPT_PARAMS`, rewrites it with them. A wrong
    one is counted; from the :data:`FREE_ATTEMPTS`-th on, the next attempt must wait
    :func:`retry_delay`. Both are audited.

    Parameters
    ----------
    ws : Workspace
    attempt : str
        What the user typed.
    clock : callable, keyword-only
        Wall-clock seconds (the wait outlives the process, so not a monotonic clock).

    Raises
    ------
    UserError
        If no passphrase is set up, an attempt must wait (nothing is checked then), or the
        passphrase is wrong. Messages name no command and no file.
    """
    raw = ws.store.setting(SETTING_KEY)
    if raw is None:
        raise UserError(NOT_SET_UP)
    wait = unlock_wait(ws, clock=clock)
    if wait > 0:
        raise UserError(wait_message(wait))
    record = json.loads(raw)
    params = _params(record)
    got = _derive(attempt, bytes.fromhex(record["salt"]), params)
    if not hmac.compare_digest(got, bytes.fromhex(record["hash"])):
        _count_failure(ws, clock())
    weak = any(params[k] < SCRYPT_PARAMS[k] for k in params)
    upgraded = _record(attempt) if weak else None
    with ws.store.atomic():
        if upgraded is not None and ws.store.setting(SETTING_KEY) == raw:
            ws.store.set_setting(SETTING_KEY, upgraded)
        ws.store.delete_setting(FAILURES_KEY)
        ws.store.audit(None, "admin_unlock", {"rehashed_n": SCRYPT_PARAMS["n"]} if weak else {})
    if weak:
        log.info("admin passphrase hash upgraded from scrypt N=%d to N=%d", params["n"],
                 SCRYPT_PARAMS["n"])
    log.info("admin views unlocked")


def _count_failure(ws: Workspace, now: float) -> None:
    """Count a wrong attempt, store the next allowed time, and raise the refusal."""
    with ws.store.atomic():
        failures = _failures(ws)[0] + 1
        delay = retry_delay(failures)
        ws.store.set_setting(FAILURES_KEY, json.dumps({"failures": failures,
                                                       "until": now + delay}))
        ws.store.audit(None, "admin_unlock_failed", {"failures": failures, "wait_s": delay})
    log.info("wrong admin passphrase (%d in a row; next attempt in %.0f s)", failures, delay)
    raise UserError(WRONG, hint=wait_message(delay) if delay else None)


def forget_passphrase(ws: Workspace) -> bool:
    """Remove the admin passphrase (audited); the admin views stay closed until a new one is
    set up.

    For a study lead who has forgotten it. Only someone who can already open the
    workspace's files (they are private to its owner) can call this, and the passphrase
    does not protect those files: it keeps a reading kiosk's physician out of the admin
    views.

    Returns
    -------
    bool
        Whether a passphrase was set.
    """
    with ws.store.atomic():
        removed = ws.store.delete_setting(SETTING_KEY)
        ws.store.delete_setting(FAILURES_KEY)
        if removed:
            ws.store.audit(None, "forget_admin_passphrase", {})
    log.info("admin passphrase %s", "removed" if removed else "was not set")
    return removed


def idle_lock_minutes(ws: Workspace) -> float:
    """Minutes without input before unlocked admin views go back to reader mode.

    The shortest ``[kiosk] idle_lock_minutes`` among the workspace's studies (the
    strictest wins), or :data:`DEFAULT_IDLE_LOCK_MINUTES` when there is none.
    """
    values = []
    for row in ws.store.studies():
        try:
            proto = protocol_from_dict(json.loads(row.protocol_json), source=row.name)
        except (UserError, ValueError):
            log.warning("study %s: stored protocol unreadable; idle lock uses the default",
                        row.name)
            continue
        values.append(proto.kiosk.idle_lock_minutes)
    return min(values, default=DEFAULT_IDLE_LOCK_MINUTES)
