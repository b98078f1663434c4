"""In-process libnftables (libnftables.so.1) through ctypes: run nft command buffers as one
kernel transaction each, optionally inside a named network namespace."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import threading
from collections.abc import Iterator

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"

# nft_ctx_new flags and output flags (include/nftables/libnftables.h)
NFT_CTX_DEFAULT = 0
NFT_CTX_OUTPUT_JSON = 1 << 4


class NftError(Exception):
    """A command buffer that libnftables or the kernel refused; the message is nft's text."""


def _load() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("nftables") or "libnftables.so.1", use_errno=True)
    lib.nft_ctx_new.restype = ctypes.c_void_p
    lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
    lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_output.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_buffer_error.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_output_buffer.restype = ctypes.c_char_p
    lib.nft_ctx_get_output_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_get_error_buffer.restype = ctypes.c_char_p
    lib.nft_ctx_get_error_buffer.argtypes = [ctypes.c_void_p]
    lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
    lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.nft_ctx_output_get_flags.restype = ctypes.c_uint
    lib.nft_ctx_output_get_flags.argtypes = [ctypes.c_void_p]
    lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
    return lib


_lib: ctypes.CDLL | None = None
_libc = ctypes.CDLL(None, use_errno=True)


def _library() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        _lib = _load()
    return _lib


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


@contextlib.contextmanager
def in_netns(name: str | None) -> Iterator[None]:
    """Run the body with the calling thread in network namespace `name` (/run/netns/NAME), then
    come back; None means stay where we are. Only this thread moves, which is what libnftables
    acts on: its netlink socket is opened in the namespace current at nft_ctx_new time."""
    if not name:
        yield
        return
    if "/" in name or name in (".", ".."):
        raise NftError(f"invalid namespace name {name!r}")
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise NftError(f"network namespace {name}: {exc.strerror}") from None
        try:
            _setns(target)
        finally:
            os.close(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(home)


class Nft:
    """One libnftables context bound to one network namespace.

    Every `run` is one nft_run_cmd_from_buffer call: all its commands form a single kernel
    transaction, committed whole or not at all. The context's netlink socket stays in the
    namespace it was created in, so later calls from any thread act there. Calls are
    serialised by a lock: a context is not safe for concurrent use.
    """

    def __init__(self, netns: str | None = None, *, json: bool = False) -> None:
        self.netns = netns
        self._lib = _library()
        self._lock = threading.Lock()
        with in_netns(netns):
            ctx = self._lib.nft_ctx_new(NFT_CTX_DEFAULT)
        if not ctx:
            raise NftError("nft_ctx_new failed")
        self._ctx: int | None = ctx
        self._lib.nft_ctx_buffer_output(ctx)
        self._lib.nft_ctx_buffer_error(ctx)
        if json:
            flags = self._lib.nft_ctx_output_get_flags(ctx)
            self._lib.nft_ctx_output_set_flags(ctx, flags | NFT_CTX_OUTPUT_JSON)

    def run(self, commands: str) -> str:
        """Run a buffer of nft commands as one transaction; return nft's output. Raises
        NftError with nft's error text (its first error line) if anything was refused."""
        with self._lock:
            if self._ctx is None:
                raise NftError("nft context closed")
            rc = self._lib.nft_run_cmd_from_buffer(self._ctx, commands.encode())
            out = (self._lib.nft_ctx_get_output_buffer(self._ctx) or b"").decode(errors="replace")
            err = (self._lib.nft_ctx_get_error_buffer(self._ctx) or b"").decode(errors="replace")
        if rc != 0:
            raise NftError(_first_error(err) or f"nft failed (rc {rc})")
        return out

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                self._lib.nft_ctx_free(self._ctx)
                self._ctx = None

    def __enter__(self) -> Nft:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _first_error(text: str) -> str:
    """The first `Error:` line nft printed. nft 1.0.6 quotes the buffer's first line under it
    whatever line failed, so the quote is dropped rather than shown misleadingly."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for line in lines:
        if "Error:" in line:
            return line[line.index("Error:") + len("Error:") :].strip()
    return lines[0] if lines else ""
