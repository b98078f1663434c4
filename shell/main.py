"""The `lbsh` console command on the device: talks to reflexd over its control socket, runs
interactively (line editor, Tab, `?`) on a terminal, or as a batch (-f FILE, -c STATEMENT,
statements on standard input) that stops at the first error with exit status 1."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
from pathlib import Path

from datastore.errors import DatastoreError


def _socket_path(args: argparse.Namespace) -> Path:
    if args.socket:
        return Path(args.socket)
    from agent.bootstrap import BootstrapError, load

    try:
        return load(Path(args.bootstrap) if args.bootstrap else None).control_socket
    except BootstrapError as e:
        raise SystemExit(f"lbsh: {e}") from None


def _write(line: str) -> None:
    stream = sys.stderr if line.startswith("ERROR: ") else sys.stdout
    try:
        stream.write(line + "\n")
        stream.flush()
    except BrokenPipeError:
        # the reader went away (lbsh -c 'show configuration' | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        raise SystemExit(1) from None


class _OneLine(logging.Formatter):
    """Log records as one line on a console: the user sees no traceback."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return ""


def _logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine("lbsh: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


def _interactive(interp) -> int:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.application import run_in_terminal
    from prompt_toolkit.history import FileHistory, InMemoryHistory
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.shortcuts import CompleteStyle

    kb = KeyBindings()

    @kb.add("?")
    def _help(event) -> None:
        buf = event.current_buffer
        before = buf.document.text_before_cursor
        if before.count('"') % 2 or before.count("'") % 2 or "#" in before:
            buf.insert_text("?")  # inside a quoted string or a comment it is text
            return
        text = interp.help_next(before)
        run_in_terminal(lambda: print(text), render_cli_done=True)

    try:
        history = FileHistory(str(Path.home() / ".lbsh_history"))
    except OSError:
        history = InMemoryHistory()
    session = PromptSession(completer=interp.completer(), complete_while_typing=False,
                            complete_style=CompleteStyle.READLINE_LIKE, key_bindings=kb,
                            history=history)
    while not interp.finished:
        try:
            line = session.prompt(interp.prompt)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            interp.run_line(line)
        except KeyboardInterrupt:
            print("interrupted")
    return 0


def _ask(text: str) -> str:
    """A secret read without echo; "" when the user gives up (Ctrl-C, Ctrl-D)."""
    try:
        return getpass.getpass(text)
    except (EOFError, KeyboardInterrupt):
        return ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="lbsh", description="The Reflex administration shell.")
    p.add_argument("-f", "--file", help="run the statements of FILE, stop at the first error")
    p.add_argument("-c", "--command", help="run one statement")
    p.add_argument("-s", "--socket", help="reflexd's control socket (default: bootstrap file)")
    p.add_argument("-b", "--bootstrap", help="reflexd's bootstrap file")
    args = p.parse_args(argv)
    _logging()

    from shell.client import connect
    from shell.interp import Interpreter

    try:
        api = connect(_socket_path(args))
    except DatastoreError as e:
        print(f"lbsh: {e}", file=sys.stderr)
        return 2
    tty = args.file is None and args.command is None and sys.stdin.isatty()
    interp = Interpreter(api, write=_write, interactive=tty,
                         read_secret=_ask if tty else None)
    try:
        if args.command is not None:
            return interp.run_batch([args.command])
        if args.file is not None:
            try:
                with open(args.file, encoding="utf-8") as f:
                    return interp.run_batch(f)
            except (OSError, UnicodeDecodeError) as e:
                print(f"lbsh: {args.file}: {getattr(e, 'strerror', None) or e}",
                      file=sys.stderr)
                return 2
        if not tty:
            return interp.run_batch(sys.stdin)
        return _interactive(interp)
    finally:
        with contextlib.suppress(Exception):  # the daemon may be gone already
            api.close()


if __name__ == "__main__":
    sys.exit(main())
