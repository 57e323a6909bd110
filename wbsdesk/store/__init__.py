"""The workspace's SQLite store: the only package that touches sqlite (all SQL lives here)."""

from wbsdesk.store.db import Store, open_store

__all__ = ["Store", "open_store"]
