"""GUI tests never block on a real modal dialog: an unexpected one fails the test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_modal_dialogs(monkeypatch):
    from wbsdesk.gui import dialogs

    def unexpected(name):
        def fail(*args, **kwargs):
            raise AssertionError(f"unexpected modal dialog: {name}")
        return fail

    for name in ("ask_passphrase", "ask_new_passphrase", "ask_new_reader", "confirm"):
        monkeypatch.setattr(dialogs, name, unexpected(name))
