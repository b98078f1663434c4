"""The lbsh interpreter: one statement at a time (interactive) or a batch that stops at the
first error; every failure is one `ERROR: ...` line and the session goes on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from datastore.errors import DatastoreError

from .context import Ctx, q
from .grammar import ShellError, commands, parse, shown
from .syntax import MAX_WORDS, Unbalanced, split_words

log = logging.getLogger("reflex.lbsh")
MAX_LINE = 65536


def tokenize(line: str) -> list[str]:
    try:
        return split_words(line)[0]
    except Unbalanced:
        raise ShellError("unbalanced quotes") from None


def one_line(text: str) -> str:
    return "; ".join(part.strip() for part in str(text).splitlines() if part.strip()) or "?"


class Interpreter:
    """write(line) receives one line of output at a time, without its newline. read_secret
    (optional) reads a line without echo, for `user NAME password` and sftp passwords."""

    def __init__(self, api, *, write: Callable[[str], None], interactive: bool,
                 read_secret: Callable[[str], str] | None = None):
        self._raw_write = write
        self.ctx = Ctx(api, self._write, interactive, read_secret)
        self.ctx.execute = self._execute
        self._quiet = 0
        try:
            host = api.get("running").findtext(f"{q('device')}/{q('hostname')}") or "reflex"
        except Exception:
            log.exception("cannot read the host name for the prompt")
            host = "reflex"
        self.prompt = f"{host}> "
        commands()

    @property
    def finished(self) -> bool:
        """True once `exit` or `quit` ran."""
        return self.ctx.finished

    def _write(self, text: str) -> None:
        if self._quiet:
            return
        for line in str(text).split("\n"):
            self._raw_write(line)

    def _execute(self, line: str, quiet: bool = False) -> None:
        """Run one statement; raise ShellError (one line) if it fails."""
        if len(line) > MAX_LINE:
            raise ShellError(f"statement longer than {MAX_LINE} characters")
        toks = tokenize(line)
        if not toks:
            return
        if len(toks) > MAX_WORDS:
            raise ShellError(f"statement of more than {MAX_WORDS} words")
        ctx = self.ctx
        ctx.invalidate()
        cmd = commands().get(toks[0])
        admin = ctx.role == "admin"
        if cmd is not None and cmd.admin_only and not admin:
            raise ShellError(f"permission denied: {ctx.role} may not {cmd.name}")
        parsed = parse(toks)
        if parsed.form.admin and not admin:
            raise ShellError(f"permission denied: {ctx.role} may not {parsed.form.label}")
        self._quiet += quiet
        try:
            parsed.form.handler(ctx, parsed.args)
        except DatastoreError as e:
            raise ShellError(one_line(e)) from None
        finally:
            self._quiet -= quiet
            ctx.invalidate()

    def run_line(self, line: str) -> bool:
        """Execute one statement; False (after one ERROR line) if it failed. Never raises."""
        try:
            stripped = line.rstrip("\r\n")
            if stripped.rstrip().endswith("?") and tokenize(stripped)[-1:] == ["?"]:
                text = stripped.rstrip()[:-1]
                for out in self.help_next(text).splitlines():
                    self._write(out)
                return True
            self._execute(stripped)
            return True
        except ShellError as e:
            self._error(one_line(e))
        except Exception as e:
            log.exception("lbsh statement failed: %s", shown(line, 200))
            self._error(f"internal error: {type(e).__name__}: {one_line(e)}"[:300])
        return False

    def _error(self, message: str) -> None:
        try:
            self._raw_write(f"ERROR: {message}")
        except Exception:
            log.exception("cannot write an error line")

    def run_batch(self, lines: Iterable[str]) -> int:
        """Run statements until the first error (exit status 1) or the end (0)."""
        for line in lines:
            if not self.run_line(line):
                return 1
            if self.finished:
                break
        return 0

    def completer(self):
        from .complete import LbshCompleter
        return LbshCompleter(self.ctx)

    def help_next(self, text_before_cursor: str) -> str:
        """What `?` shows: the words and placeholders that may come next."""
        from .complete import help_next
        try:
            return help_next(self.ctx, text_before_cursor)
        except Exception as e:
            log.exception("help_next failed")
            return f"ERROR: internal error: {one_line(e)}"
