"""The admin passphrase that locks the study lead's views away from reader mode.

The passphrase is set on first use of an admin feature and stored only as a salted scrypt
hash (with its parameters) in the workspace's settings; checks compare in constant time.
It keeps a physician at the reading kiosk away from imports, ground truth, dashboards and
other readers' sessions; it is not encryption (the workspace files are the user's).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets

from wbsdesk.errors import UserError
from wbsdesk.services.workspace import Workspace

log = logging.getLogger(__name__)

SETTING_KEY = "admin_passphrase"
MIN_LENGTH = 8
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def _derive(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=params["n"], r=params["r"],
                          p=params["p"], dklen=params["dklen"], maxmem=64 * 1024 * 1024)


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
    if has_passphrase(ws) and not verify_passphrase(ws, current or ""):
        raise UserError("the current admin passphrase is not correct")
    salt = secrets.token_bytes(16)
    record = {"algorithm": "scrypt", **_SCRYPT, "salt": salt.hex(),
              "hash": _derive(passphrase, salt, _SCRYPT).hex()}
    with ws.store.atomic():
        ws.store.set_setting(SETTING_KEY, json.dumps(record, sort_keys=True))
        ws.store.audit(None, "set_admin_passphrase", {"algorithm": "scrypt"})
    log.info("admin passphrase set")


def verify_passphrase(ws: Workspace, attempt: str) -> bool:
    """Whether ``attempt`` is the admin passphrase (``False`` when none is set)."""
    raw = ws.store.setting(SETTING_KEY)
    if raw is None:
        return False
    record = json.loads(raw)
    params = {k: int(record[k]) for k in ("n", "r", "p", "dklen")}
    got = _derive(attempt, bytes.fromhex(record["salt"]), params)
    ok = hmac.compare_digest(got, bytes.fromhex(record["hash"]))
    if not ok:
        log.info("wrong admin passphrase entered")
    return ok


def forget_passphrase(ws: Workspace) -> bool:
    """Remove the admin passphrase (audited); the next admin view asks for a new one.

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
        if removed:
            ws.store.audit(None, "forget_admin_passphrase", {})
    log.info("admin passphrase %s", "removed" if removed else "was not set")
    return removed
