"""The workspace's SQLite store: the only package that touches sqlite (all SQL lives here)."""

from wbsdesk.store.connection import DatabaseDamagedError
from wbsdesk.store.db import Store, open_store, open_store_readonly, open_stores
from wbsdesk.store.files import (
    LegacyDatabaseBusyError,
    move_legacy_database,
    processes_on_deleted_files,
)

__all__ = ["DatabaseDamagedError", "LegacyDatabaseBusyError", "Store", "move_legacy_database",
           "open_store", "open_store_readonly", "open_stores", "processes_on_deleted_files"]
