"""Entry point of the ``splatcast`` command; sub-command modules are imported only when used (fast start-up)."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# OpenMP's busy-waiting threads fight numba's pool when torch is imported in the same process (~7x slower).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

# name -> module under splatcast.cli; order is the order of `splatcast --help`
COMMANDS = [
    "share",
    "info",
    "convert",
    "render",
    "compare",
    "encode",
    "decode",
    "train",
    "layers",
    "package",
    "serve",
    "play",
    "bench",
    "demo",
]


class _DefaultsFormatter(argparse.HelpFormatter):
    """Shows every option's default in --help, unless its help already says it or there is none to show."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _load(name: str):
    return importlib.import_module(f"splatcast.cli.{name}_cmd")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    from splatcast import __version__

    parser = argparse.ArgumentParser(prog="splatcast", description="Scalable 3DGS coding and streaming")
    parser.add_argument("--version", action="version", version=f"splatcast {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name)
            continue
        try:
            module = _load(name)
        except ModuleNotFoundError as exc:
            if exc.name != f"splatcast.cli.{name}_cmd":
                raise
            continue
        p = sub.add_parser(name, help=module.HELP, description=module.HELP, formatter_class=_DefaultsFormatter)
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    from splatcast.errors import SplatcastError

    argv = sys.argv[1:] if argv is None else argv
    # import only the chosen command's module, unless help is asked for
    only = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(only)
    args = parser.parse_args(argv)
    module = getattr(args, "_module", None)
    if module is None:
        parser.print_help()
        return 1
    try:
        return int(module.run(args) or 0)
    except SplatcastError as exc:
        print(f"splatcast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"splatcast {args.command}: error: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `splatcast info F | head`: the reader left; say nothing more
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # (the interpreter flushes at exit)
        except OSError:
            pass
        return 141


if __name__ == "__main__":
    sys.exit(main())
