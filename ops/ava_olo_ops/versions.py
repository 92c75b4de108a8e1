"""The seed's release versions: parse, order, and match what a running service reports.

Format (seed, "Git Workflow Best Practices" -> "Version Tagging Strategy"): ``v`` + MAJOR.MINOR.PATCH, optionally
``-`` + lower-case words joined by ``-``: ``v3.2.0``, ``v3.2.0-schema-button-aurora``. The regular expression is
the construct library's :data:`ava_olo_constructs.validation.VERSION_PATTERN`, so synth, the commit hook and the
operator tools accept exactly the same strings. (``ava_olo_constructs.validation`` is plain Python: importing it
does not start the CDK's jsii runtime, and nothing in ``ava_olo_ops`` may import ``aws_cdk``.)

Ordering uses MAJOR.MINOR.PATCH only. The words are a description, not a pre-release marker, so
``v3.2.0-hotfix`` is neither newer nor older than ``v3.2.0``: a release that changes anything bumps a number
(seed, "What NOT to Do" #4: "Verify version bumped").

What a service reports on ``/version`` may carry the build's commit after the release version (seed,
"Version Verification": ``v2.5.6-schema-nlq-prompt-fix-a1b2c3d4`` for the release ``v2.5.6-schema-nlq-prompt-fix``).
:func:`matches_reported` accepts the release version alone or followed by ``-`` and 7 to 40 lower-case
hexadecimal digits (a short or full git commit hash), and nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ava_olo_constructs.validation import VERSION_PATTERN

#: The commit a build may append to the release version on ``/version``: a short (7+) or full (40) git hash.
COMMIT_SUFFIX = re.compile(r"-([0-9a-f]{7,40})")

FORMAT_HELP = "use the seed's release format vMAJOR.MINOR.PATCH[-lowercase-words], e.g. v3.2.0-schema-button-aurora"


class VersionError(ValueError):
    """A string that is not a release version in the seed's format (one line)."""


@dataclass(frozen=True)
class Version:
    """One release version, e.g. ``v3.2.0-schema-button-aurora`` (major 3, minor 2, patch 0, words ``schema-button-aurora``)."""

    major: int
    minor: int
    patch: int
    words: Optional[str] = None

    @property
    def number(self) -> tuple[int, int, int]:
        """What orders versions: (MAJOR, MINOR, PATCH)."""
        return (self.major, self.minor, self.patch)

    @property
    def core(self) -> str:
        """``vMAJOR.MINOR.PATCH`` without the words: ``v3.2.0``."""
        return f"v{self.major}.{self.minor}.{self.patch}"

    def is_newer_than(self, other: "Version") -> bool:
        return self.number > other.number

    def __str__(self) -> str:
        return self.core + (f"-{self.words}" if self.words else "")


def parse(text: object, *, what: str = "version") -> Version:
    """``text`` as a :class:`Version`; :class:`VersionError` (naming ``what``) when it is not in the seed's format."""
    if not isinstance(text, str):
        raise VersionError(f"{what}: {text!r} is not a version; {FORMAT_HELP}")
    match = VERSION_PATTERN.fullmatch(text)
    if match is None:
        raise VersionError(f"{what}: {text!r} is not allowed; {FORMAT_HELP}")
    words = match.group(4)
    return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)), words[1:] if words else None)


def is_valid(text: object) -> bool:
    return isinstance(text, str) and VERSION_PATTERN.fullmatch(text) is not None


def commit_of(expected: str, reported: object) -> Optional[str]:
    """The commit hash ``reported`` appends to ``expected`` (``a1b2c3d4``), or None when there is none."""
    if not isinstance(reported, str) or not reported.startswith(expected):
        return None
    match = COMMIT_SUFFIX.fullmatch(reported[len(expected):])
    return match.group(1) if match else None


def matches_reported(expected: str, reported: object) -> bool:
    """True when a service reporting ``reported`` on ``/version`` runs the release ``expected``.

    ``reported`` is ``expected`` itself, or ``expected`` + ``-`` + a 7-40 digit lower-case hex commit hash.
    ``v3.2.0-a1b2c3d4`` therefore matches ``v3.2.0``; ``v3.2.0-hotfix`` and ``v3.2.0-hotfix-a1b2c3d4`` do not.
    """
    if not isinstance(reported, str):
        return False
    return reported == expected or commit_of(expected, reported) is not None


def heading_mentions(line: str, token: str) -> bool:
    """True when ``token`` (``v3.2.1``) appears in ``line`` as a whole version: not inside ``v3.2.10`` or ``xv3.2.1``."""
    pattern = r"(?<![0-9A-Za-z.])" + re.escape(token) + r"(?![0-9A-Za-z]|\.[0-9])"
    return re.search(pattern, line) is not None
