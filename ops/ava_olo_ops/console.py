"""Terminal output shared by every ``ava-olo`` command."""

from __future__ import annotations

import sys
from typing import Optional, TextIO


def emit(text: str, stream: Optional[TextIO] = None, *, flush: bool = False) -> None:
    """Write ``text`` to ``stream`` (default: the current ``sys.stdout``).

    Where the stream cannot encode a character, ``×`` is written as ``x`` and any other such character as the
    encoding's replacement (``?``). With ``flush`` the stream is flushed afterwards, where it can be.
    """
    stream = stream if stream is not None else sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = text.replace("×", "x").encode(encoding, errors="replace").decode(encoding)
    stream.write(text)
    if flush:
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
