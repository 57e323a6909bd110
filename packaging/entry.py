"""PyInstaller entry script of the frozen app: the same ``main()`` as the ``wbsdesk`` command.

No arguments open the window; any argument runs the command line. ``main()`` calls
``multiprocessing.freeze_support()`` first, so spawned training and alignment jobs work.
"""

from wbsdesk.__main__ import main

if __name__ == "__main__":
    main()
