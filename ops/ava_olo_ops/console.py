"""Terminal output of every ``ava-olo`` command, through rich (no hand-written ANSI): colour on a terminal, plain
text in CI; where the stream cannot encode ``✓``/``×``, ``×`` becomes ``x`` and the rest ``?``."""

from __future__ import annotations

import sys
from typing import Optional, TextIO

from rich.console import Console
from rich.text import Text

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
SYMBOLS = {PASS: "✓", WARN: "⚠", FAIL: "✗", SKIP: "-"}
ASCII_SYMBOLS = {PASS: "OK  ", WARN: "WARN", FAIL: "FAIL", SKIP: "--  "}
STYLES = {PASS: "green", WARN: "yellow", FAIL: "bold red", SKIP: "dim"}


def console(stream: Optional[TextIO] = None) -> Console:
    """A rich console on ``stream`` (default the current ``sys.stdout``): no markup, highlighting or wrapping."""
    return Console(file=stream if stream is not None else sys.stdout, highlight=False, markup=False, soft_wrap=True, emoji=False)


def emit(text: str, stream: Optional[TextIO] = None, *, flush: bool = False, style: Optional[str] = None) -> None:
    """Write ``text`` as it is (newlines included) to ``stream``; ``style`` colours it on a terminal."""
    stream = stream if stream is not None else sys.stdout
    if symbols_for(stream) is ASCII_SYMBOLS:  # the stream cannot encode ✓ ✗ ×: x for ×, ? for the rest
        encoding = getattr(stream, "encoding", None) or "utf-8"
        text = text.replace("×", "x").encode(encoding, errors="replace").decode(encoding)
    console(stream).print(Text(text, style=style or ""), end="")
    if flush:
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


def symbols_for(stream: object) -> dict[str, str]:
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        "".join(SYMBOLS.values()).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII_SYMBOLS
    return SYMBOLS


def mark(status: str, text: str, stream: Optional[TextIO] = None) -> None:
    """One ``✓ text`` / ``✗ text`` line, coloured on a terminal."""
    stream = stream if stream is not None else sys.stdout
    emit(f"{symbols_for(stream)[status]} {text}\n", stream, style=STYLES[status])
