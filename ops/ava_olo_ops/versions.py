"""Two version numbers, kept apart: the application's release and the infrastructure's own version.

* **Application release** (what ``--version V`` means in every ``ava-olo`` command): the seed's format, ``v`` +
  MAJOR.MINOR.PATCH, optionally ``-`` + lower-case words (``v3.2.0-schema-button-aurora``). It is cut in the
  *application* repository, which also holds its release notes (its ``CHANGELOG.md``, or the GitHub release of the
  tag). One release = one image tag in ECR = the container's ``APP_VERSION`` = what ``/version`` answers = the SSM
  parameter ``/<project>/<env>/<service>/version`` = the ``Version`` tag. ``preflight --changelog PATH|URL`` reads
  *those* release notes.
* **Infrastructure version**: this repository's ``ava_olo_constructs.__version__`` (``v0.x``) and its
  ``CHANGELOG.md``. It versions the CDK code, not what farmers run; it never decides whether a release may deploy.

Ordering uses MAJOR.MINOR.PATCH only. The words are a description, not a pre-release marker, so
``v3.2.0-hotfix`` is neither newer nor older than ``v3.2.0``: a release that changes anything bumps a number
(seed, "What NOT to Do" #4). ``/version`` may carry the build's commit after the release (seed, "Version
Verification": ``v2.5.6-schema-nlq-prompt-fix-a1b2c3d4``): :func:`matches_reported` accepts the release alone or
followed by ``-`` and 7 to 40 lower-case hexadecimal digits, nothing else.

:data:`VERSION_PATTERN` is the same expression as the app configuration's (stacks.config.model) (a test pins that) - copied, because
this distribution must not import the CDK library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional


#: The seed's release format (== stacks.config.model.VERSION_PATTERN).
VERSION_PATTERN = re.compile(r"^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[a-z0-9]+(-[a-z0-9]+)*)?$")

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


def matches_reported(expected: str, reported: object) -> bool:
    """True when ``/version`` reporting ``reported`` runs the release ``expected``: ``expected`` itself, or followed
    by ``-`` and a 7-40 digit lower-case hex commit. ``v3.2.0-a1b2c3d4`` matches ``v3.2.0``; ``v3.2.0-hotfix`` does not."""
    return isinstance(reported, str) and reported.startswith(expected) and (
        reported == expected or COMMIT_SUFFIX.fullmatch(reported[len(expected):]) is not None)


def heading_mentions(line: str, token: str) -> bool:
    """True when ``token`` (``v3.2.1``) appears in ``line`` as a whole version: not inside ``v3.2.10`` or ``xv3.2.1``."""
    pattern = r"(?<![0-9A-Za-z.])" + re.escape(token) + r"(?![0-9A-Za-z]|\.[0-9])"
    return re.search(pattern, line) is not None


def of_image(image: object) -> Optional[str]:
    """The release an image reference carries as its tag (``...ecr...amazonaws.com/repo:v3.2.0`` -> ``v3.2.0``)."""
    if not isinstance(image, str) or "@" in image.rsplit("/", 1)[-1]:
        return None
    name = image.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else None
