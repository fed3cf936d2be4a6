"""The ``splatcast`` command: ``main.py`` dispatches to one module per sub-command.

Each command module defines ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``. Errors of the
project's own type become a one-line message on stderr and exit code 2, never a traceback.
"""
