"""CLI tests run the click group directly: register the GUI parts as the entry point does."""

from wbsdesk.__main__ import register_gui_parts

register_gui_parts()
