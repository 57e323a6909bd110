"""The desktop app (PySide6). The only package that imports Qt or pyqtgraph.

PySide6-Essentials 6.12.0 is excluded in ``pyproject.toml``: its wheels drop a reference to
``None`` on every void Qt call (and to ``True`` on every ``Signal.emit``) under Python
3.11, and the interpreter aborts after a few thousand calls ("none_dealloc"). 6.11.3 does
not; ``tests/gui/test_refcount_guard.py`` checks the installed build.
"""
