"""The interactive lbsh line editor on an ssh channel: prompt_toolkit fed from a pipe,
drawing through a VT100 output that writes to the channel, with resize and `?` help."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import threading
import time
from typing import Any

import paramiko
from prompt_toolkit import PromptSession
from prompt_toolkit.application import run_in_terminal
from prompt_toolkit.application.current import create_app_session
from prompt_toolkit.data_structures import Size
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.shortcuts import CompleteStyle

log = logging.getLogger("reflex.ssh.term")

# A channel has no pty line discipline to add carriage returns.
_BARE_LF = re.compile(r"(?<!\r)\n")
DEFAULT_SIZE = (80, 24)
MAX_SIDE = 1000
# At most PIPE_BUF bytes: a non-blocking write of it into a pipe is all or nothing.
PIPE_CHUNK = 4096


class ChannelStdout:
    """A stdout-like object that writes text to a channel; send errors after the
    client has gone are swallowed and remembered."""

    encoding = "utf-8"

    def __init__(self, chan: paramiko.Channel, *, crlf: bool) -> None:
        self._chan = chan
        self._crlf = crlf
        self.broken = False

    def write(self, data: str) -> int:
        if self.broken or not data:
            return len(data)
        text = _BARE_LF.sub("\r\n", data) if self._crlf else data
        try:
            self._chan.sendall(text.encode("utf-8", "replace"))
        except (OSError, EOFError, paramiko.SSHException):
            self.broken = True
        return len(data)

    def write_line(self, line: str) -> None:
        """The interpreter's output: one line at a time, without its newline."""
        self.write(line + "\n")

    def flush(self) -> None:
        """Nothing is buffered here."""

    def isatty(self) -> bool:
        # prompt_toolkit only asks the terminal for its cursor position on a tty
        return True


def usable_size(width: int, height: int) -> tuple[int, int]:
    """A pty of 0x0 (`ssh -tt` with piped input) is drawn as 80x24; a client's claim of
    an enormous window is held to MAX_SIDE."""
    if width <= 0 or height <= 0:
        return DEFAULT_SIZE
    return min(width, MAX_SIDE), min(height, MAX_SIDE)


class TerminalSession:
    """One interactive lbsh session on a channel with a pty. run() blocks the calling
    (worker) thread until the user logs out or the client goes away."""

    def __init__(self, chan: paramiko.Channel, *, term: str, width: int, height: int,
                 idle_timeout: float = 0.0) -> None:
        self._chan = chan
        self._idle_timeout = idle_timeout  # seconds without a keystroke; 0: never
        self._last_input = time.monotonic()
        self._term = term or "vt100"
        # without a size from the client, cursor position requests would go unanswered
        self._cpr = width > 0 and height > 0
        self._size = usable_size(width, height)
        self._stdout = ChannelStdout(chan, crlf=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prompt: PromptSession | None = None
        self._input_lock = threading.Lock()
        self._input_open = False

    def write(self, text: str) -> None:
        self._stdout.write(text)

    def write_line(self, line: str) -> None:
        """A line of a statement's output (written between prompts)."""
        self._stdout.write_line(line)

    def resize(self, width: int, height: int) -> None:
        """Called from the transport thread on a window-change request."""
        self._size = usable_size(width, height)
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the session loop has just ended
            loop.call_soon_threadsafe(self._redraw)

    def _redraw(self) -> None:
        app = self._prompt.app if self._prompt else None
        if app is not None and app.is_running:
            app._on_resize()  # what prompt_toolkit's own ssh server calls on resize

    def _get_size(self) -> Size:
        return Size(rows=self._size[1], columns=self._size[0])

    def run(self, interp: Any) -> None:
        loop = asyncio.new_event_loop()
        try:
            with create_pipe_input() as pipe:
                # a full pipe (a paste while a statement runs) must not block the pump
                # while it holds the input lock
                os.set_blocking(pipe.pipe.write_fd, False)
                self._input_open = True
                pump = threading.Thread(target=self._pump, args=(pipe,), daemon=True,
                                        name=f"lbsh-input-{self._chan.get_id()}")
                pump.start()
                output = Vt100_Output(self._stdout, self._get_size, term=self._term,
                                      enable_cpr=self._cpr)
                try:
                    with create_app_session(input=pipe, output=output):
                        self._loop = loop
                        loop.run_until_complete(self._main(interp))
                finally:
                    # after this the pump never writes: a closed pipe's descriptor number
                    # may soon belong to another session's socket
                    with self._input_lock:
                        self._input_open = False
        finally:
            self._loop = None
            loop.close()

    def _pump(self, pipe: Any) -> None:
        """Copy what the client types into the prompt's input until the channel ends."""
        while True:
            try:
                data = self._chan.recv(PIPE_CHUNK)
            except (OSError, EOFError, paramiko.SSHException):
                data = b""
            if not data:
                break
            self._last_input = time.monotonic()
            if not self._feed(pipe, data):
                return
        # the prompt sees end of input and raises EOFError
        with self._input_lock, contextlib.suppress(OSError):
            if self._input_open:
                pipe.close()

    def _feed(self, pipe: Any, data: bytes) -> bool:
        """Write data into the pipe, waiting while it is full; False once the session ended."""
        for i in range(0, len(data), PIPE_CHUNK):
            chunk = data[i:i + PIPE_CHUNK]
            while True:
                with self._input_lock:
                    if not self._input_open:
                        return False
                    try:
                        pipe.send_bytes(chunk)
                        break
                    except BlockingIOError:
                        pass
                time.sleep(0.05)  # a statement is running; the prompt reads again after it
        return True

    def _bindings(self, interp: Any) -> KeyBindings:
        kb = KeyBindings()

        @kb.add("?")
        def _help(event: Any) -> None:
            buf = event.current_buffer
            before = buf.document.text_before_cursor
            if before.count('"') % 2 or "#" in before:
                buf.insert_text("?")  # inside a quoted string or a comment it is text
                return
            try:
                text = interp.help_next(before)
            except Exception:
                log.exception("help_next failed")
                return
            if text:
                run_in_terminal(lambda: self.write(text if text.endswith("\n") else text + "\n"),
                                render_cli_done=True)

        return kb

    def read_secret(self, text: str) -> str:
        """Ask for a secret without echo, from the thread running a statement; "" when
        the user gives up (Ctrl-C, Ctrl-D)."""
        loop = self._loop
        if loop is None:
            return ""
        try:
            return asyncio.run_coroutine_threadsafe(self._ask_secret(text), loop).result()
        except (KeyboardInterrupt, EOFError):
            return ""

    async def _ask_secret(self, text: str) -> str:
        return await PromptSession(is_password=True).prompt_async(text)

    async def _main(self, interp: Any) -> None:
        self._prompt = PromptSession(
            completer=interp.completer(),
            complete_while_typing=False,
            complete_style=CompleteStyle.READLINE_LIKE,
            key_bindings=self._bindings(interp),
            history=InMemoryHistory(),
        )
        watchdog = asyncio.create_task(self._idle_watch()) if self._idle_timeout else None
        try:
            while not self._stdout.broken and not getattr(interp, "finished", False):
                try:
                    line = await self._prompt.prompt_async(interp.prompt)
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    break
                # in a thread, so this loop can still ask for a password the statement needs
                await asyncio.to_thread(interp.run_line, line)
        finally:
            if watchdog is not None:
                watchdog.cancel()

    async def _idle_watch(self) -> None:
        """End a session nobody has typed into for idle_timeout seconds (routers' idle-timeout):
        an abandoned session should not hold the configuration lock or a login forever."""
        step = min(5.0, self._idle_timeout / 4)
        while True:
            await asyncio.sleep(step)
            idle = time.monotonic() - self._last_input
            app = self._prompt.app if self._prompt is not None else None
            if idle >= self._idle_timeout and app is not None and app.is_running:
                self._stdout.write_line("")
                span = f"{idle / 60:.0f} minutes" if idle >= 120 else f"{idle:.0f} seconds"
                self._stdout.write_line(f"idle for {span}: session closed")
                app.exit(exception=EOFError())
                return


__all__ = ["TerminalSession", "ChannelStdout", "usable_size"]
