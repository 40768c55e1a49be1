"""Reading an ``strace -f -y -s N`` log: which system call touched which file, in what order, with what bytes.

The power-loss test runs the outbox under ``strace`` and checks the order
of the real calls (SQLite's included) and the bytes they wrote; this module
only turns the log into :class:`Call` records. Paths are absolute (relative
ones are resolved against the directory ``-y`` printed for their fd), and
written data is decoded from strace's C-style escapes back to bytes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

#: Calls that make a file's or a directory's state durable.
SYNCS = ("fsync", "fdatasync", "sync_file_range", "syncfs")
#: Calls that put bytes into a file descriptor.
WRITES = ("write", "pwrite64", "writev", "pwritev", "pwritev2")
RENAMES = ("rename", "renameat", "renameat2")


@dataclass(frozen=True)
class Call:
    index: int  # position in the trace
    pid: int
    name: str
    fd: int | None  # the descriptor the call acts on (for openat: the one it returned)
    fd_path: str | None  # that descriptor's path, as ``-y`` printed it
    paths: tuple[str, ...]  # path arguments, absolute (rename: source, destination)
    flags: str  # openat's flags, as printed
    data: bytes  # what a write wrote (every quoted string of its arguments)
    truncated: bool  # strace cut the data short (``-s`` too small)
    offset: int | None  # pwrite64's file offset
    result: int | None

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result >= 0


_LINE = re.compile(r"^(?:(?:\[pid\s+)?(\d+)\]?\s+)?(?:\d\d:\d\d:\d\d(?:\.\d+)?\s+)?(.*)$")
_START = re.compile(r"^(\w+)\(")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"(?:\.\.\.)?|<(?:[^<>\\]|\\.)*>|[\[\]{}()]|, |[^"<\[\]{}(),]+|,|.')
_ESCAPE = re.compile(rb"\\(x[0-9a-fA-F]{2}|[0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"v": b"\v", b"f": b"\f", b"a": b"\a", b"b": b"\b",
           b"e": b"\x1b"}


def unescape(quoted: str) -> bytes:
    """The bytes behind a string as strace prints it (``"\\303\\211lise"``, ``"\\x0a"``, ``"\\n"``)."""
    raw = quoted.encode("latin-1") if quoted.isascii() else quoted.encode("utf-8")

    def one(match: re.Match) -> bytes:
        code = match.group(1)
        if code[:1] == b"x" and len(code) == 3:
            return bytes([int(code[1:], 16)])
        if code[:1].isdigit():
            return bytes([int(code, 8) & 0xFF])
        return _SIMPLE.get(code, code)

    return _ESCAPE.sub(one, raw)


def _split_call(text: str) -> tuple[str, list[str], str] | None:
    """``name``, top-level arguments, and what follows the closing parenthesis."""
    start = _START.match(text)
    if not start:
        return None
    depth, args, current, position = 0, [], [], start.end()
    for token in _TOKEN.finditer(text, start.end()):
        value = token.group(0)
        position = token.end()
        if value in "([{":
            depth += 1
        elif value in ")]}":
            if depth == 0:
                args.append("".join(current))
                return start.group(1), [a for a in args if a], text[position:]
            depth -= 1
        elif value in (", ", ",") and depth == 0:
            args.append("".join(current))
            current = []
            continue
        current.append(value)
    return None  # unfinished line


def _fd(arg: str) -> tuple[int | None, str | None]:
    match = re.match(r"^(-?\d+|AT_FDCWD)(?:<((?:[^<>\\]|\\.)*)>)?", arg.strip())
    if not match:
        return None, None
    fd = None if match.group(1) == "AT_FDCWD" else int(match.group(1))
    path = unescape(match.group(2)).decode("utf-8", "replace") if match.group(2) is not None else None
    return fd, path


def _string(arg: str) -> tuple[bytes, bool] | None:
    arg = arg.strip()
    if not arg.startswith('"'):
        return None
    truncated = arg.endswith("...")
    return unescape(arg[1:-4] if truncated else arg[1:-1]), truncated


def _path(arg: str, base: str | None) -> str:
    decoded = _string(arg)
    path = decoded[0].decode("utf-8", "replace") if decoded else arg
    return os.path.normpath(path if os.path.isabs(path) or base is None else os.path.join(base, path))


def parse(text: str) -> list[Call]:
    """Every call of the log that completed, in order (``<unfinished ...>`` halves joined)."""
    calls: list[Call] = []
    unfinished: dict[int, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        pid, body = int(match.group(1) or 0), match.group(2)
        if body.endswith("<unfinished ...>"):
            unfinished[pid] = body[: -len("<unfinished ...>")]
            continue
        resumed = re.match(r"^<\.\.\. \w+ resumed>\s?", body)
        if resumed:
            body = unfinished.pop(pid, "") + body[resumed.end():]
        split = _split_call(body)
        if split is None:
            continue
        name, args, rest = split
        result_match = re.match(r"^\s*=\s*(-?\d+|0x[0-9a-f]+|\?)(?:<((?:[^<>\\]|\\.)*)>)?", rest)
        result = None
        if result_match and result_match.group(1) not in ("?",):
            result = int(result_match.group(1), 0)
        fd, fd_path, paths, flags, offset = None, None, (), "", None
        data, truncated = b"", False
        if name in ("openat", "open"):
            dir_fd, dir_path = _fd(args[0]) if name == "openat" else (None, None)
            path_arg = args[1] if name == "openat" else args[0]
            paths = (_path(path_arg, dir_path),)
            flags = args[2] if name == "openat" else args[1]
            fd = result
            if result_match and result_match.group(2) is not None:
                fd_path = unescape(result_match.group(2)).decode("utf-8", "replace")
        elif name in RENAMES:
            if name == "rename":
                paths = (_path(args[0], None), _path(args[1], None))
            else:
                paths = (_path(args[1], _fd(args[0])[1]), _path(args[3], _fd(args[2])[1]))
        elif name in ("unlink", "rmdir", "mkdir"):
            paths = (_path(args[0], None),)
        elif name in ("unlinkat", "mkdirat"):
            paths = (_path(args[1], _fd(args[0])[1]),)
        else:
            fd, fd_path = _fd(args[0]) if args else (None, None)
            if name in WRITES:
                for arg in args[1:]:
                    for quoted in re.findall(r'"(?:[^"\\]|\\.)*"(?:\.\.\.)?', arg):
                        piece, cut = _string(quoted)
                        data += piece
                        truncated = truncated or cut
                if name == "pwrite64":
                    offset = int(args[3])
        calls.append(Call(len(calls), pid, name, fd, fd_path, paths, flags, data, truncated, offset, result))
    return calls


def under(path: str | None, directory: str) -> bool:
    return path is not None and (path == directory or path.startswith(directory.rstrip("/") + "/"))
