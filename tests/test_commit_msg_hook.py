"""The commit-msg hook (``.githooks/commit-msg``) enforces the seed's ``vX.Y.Z - summary`` commit format.

Every example of the seed's "Git Workflow Best Practices" section is accepted or rejected as the seed says; the
edge cases pin the decisions documented in the hook's header. The hook runs as git runs it: an executable
given the path of a file that holds the message.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parent.parent / ".githooks" / "commit-msg"

# The seed's multi-line example, verbatim (git commit -m "..." with a body).
SEED_MULTILINE = """v3.5.2 - feat: add database schema button with Aurora verification

- Added Get Database Schema button to monitoring dashboard
- Implemented Aurora connection verification across all dashboards
- Created comprehensive schema display with expandable tables
- Enhanced UI with PK/FK badges and relationship indicators

Closes #123
MANGO TEST: Bulgarian mango farmer can view database structure

\N{ROBOT FACE} Generated with [Claude Code](https://claude.ai/code)

Co-Authored-By: Claude <noreply@anthropic.com>
"""

# What `git commit` (editor) writes before the hook runs: the comments are stripped by git only afterwards.
GIT_TEMPLATE_COMMENTS = """
# Please enter the commit message for your changes. Lines starting
# with '#' will be ignored, and an empty message aborts the commit.
#
# On branch main
# Changes to be committed:
#\tmodified:   app.py
#
"""


def run_hook(message: str | bytes, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "COMMIT_EDITMSG"
    path.write_bytes(message.encode() if isinstance(message, str) else message)
    return subprocess.run(
        [str(HOOK), str(path)], capture_output=True, text=True, timeout=10, cwd=tmp_path, check=False
    )


def assert_accepted(message: str | bytes, tmp_path: Path) -> None:
    result = run_hook(message, tmp_path)
    assert result.returncode == 0, f"rejected {message!r}: {result.stderr}"
    assert result.stderr == ""


def assert_rejected(message: str | bytes, tmp_path: Path) -> None:
    result = run_hook(message, tmp_path)
    assert result.returncode == 1, f"accepted {message!r}"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    # One line that says what is expected and shows an example.
    assert "vMAJOR.MINOR.PATCH - summary" in lines[0]
    assert "v3.5.2 - Fix database connection pooling issue" in lines[0]


def test_hook_is_an_executable_bash_script() -> None:
    assert os.access(HOOK, os.X_OK), "chmod +x .githooks/commit-msg (git skips hooks that are not executable)"
    assert HOOK.read_text().startswith("#!/usr/bin/env bash\n")


@pytest.mark.parametrize(
    "message",
    [
        "v3.5.2 - Fix database connection pooling issue",
        "v3.6.0 - Add natural language query feature",
        "v3.5.2 - feat: add database schema button with Aurora verification",
        SEED_MULTILINE,
    ],
    ids=["seed-fix", "seed-feature", "seed-conventional-prefix", "seed-multiline-body"],
)
def test_seed_correct_examples_are_accepted(message: str, tmp_path: Path) -> None:
    assert_accepted(message, tmp_path)
    assert_accepted(message + "\n", tmp_path)


@pytest.mark.parametrize(
    "message",
    [
        "Fix database bug",
        "feat: add new feature",
        "3.5.2 - Missing v prefix",
        "version 3.5.2 - Wrong format",
        # The seed's own feature-branch example ("Branch Protection") has no version either.
        "feat: implement database schema button",
    ],
)
def test_seed_wrong_examples_are_rejected(message: str, tmp_path: Path) -> None:
    assert_rejected(message + "\n", tmp_path)


@pytest.mark.parametrize(
    "message",
    [
        "v0.1.0 - First release",
        "v10.20.30 - Multi-digit numbers",
        "v1.0.0 - fix: summary with - hyphens - inside",
        "v1.2.3 - x",
        "v1.2.3 -  extra space before the summary is still a summary",
        "v1.2.3 - ü: non-ASCII summary",
        "v3.4.5 - Revert \"v3.4.4 - Add cache\"",
        "v3.2.0 - Merge feature/schema-button",
    ],
)
def test_valid_edge_cases_are_accepted(message: str, tmp_path: Path) -> None:
    assert_accepted(message + "\n", tmp_path)


@pytest.mark.parametrize(
    "message",
    [
        "v03.1.0 - Leading zero in MAJOR",
        "v1.02.0 - Leading zero in MINOR",
        "v1.2.00 - Leading zero in PATCH",
        "v1.2.3 - ",
        "v1.2.3 -    ",
        "v1.2.3 -",
        "v1.2.3",
        "v1.2.3-fix - tag-style suffix belongs to tags, not commits",
        "v1.2 - Missing PATCH",
        "v1.2.3.4 - Four numbers",
        "V1.2.3 - Capital V",
        "v1.2.3: colon instead of ' - '",
        "v1.2.3 -summary without space",
        "v1.2.3- summary without space",
        "v1.2.3\t-\tTabs",
        " v1.2.3 - Leading space",
        "v-1.2.3 - Negative",
        "v١.2.3 - Arabic-Indic digit",
        "Merge branch 'feature/schema-button-implementation'",
        "Revert \"v3.5.2 - Fix database connection pooling issue\"",
        "fixup! v3.5.2 - Fix database connection pooling issue",
        "squash! v3.5.2 - Fix database connection pooling issue",
    ],
)
def test_invalid_edge_cases_are_rejected(message: str, tmp_path: Path) -> None:
    assert_rejected(message + "\n", tmp_path)


def test_only_the_first_line_counts_not_a_version_in_the_body(tmp_path: Path) -> None:
    assert_rejected("Fix database bug\n\nv3.5.2 - the version only in the body\n", tmp_path)


def test_git_comment_lines_and_leading_blank_lines_are_ignored(tmp_path: Path) -> None:
    assert_accepted("# comment before\n\n  \nv3.5.2 - Fix pooling\n" + GIT_TEMPLATE_COMMENTS, tmp_path)
    assert_accepted("v3.5.2 - Fix pooling\n" + GIT_TEMPLATE_COMMENTS, tmp_path)
    assert_rejected("# v3.5.2 - a version in a comment does not count\nFix pooling\n", tmp_path)


def test_a_message_of_only_comments_is_rejected_as_empty(tmp_path: Path) -> None:
    result = run_hook(GIT_TEMPLATE_COMMENTS, tmp_path)
    assert result.returncode == 1
    assert "empty message" in result.stderr


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    assert_rejected("", tmp_path)


def test_text_below_gits_scissors_line_is_ignored(tmp_path: Path) -> None:
    verbose = (
        "v3.5.2 - Fix pooling\n"
        "# ------------------------ >8 ------------------------\n"
        "# Do not modify or remove the line above.\n"
        "diff --git a/app.py b/app.py\n"
    )
    assert_accepted(verbose, tmp_path)
    assert_rejected("\n# ------------------------ >8 ------------------------\nv3.5.2 - below the cut\n", tmp_path)


def test_crlf_line_endings_are_accepted(tmp_path: Path) -> None:
    assert_accepted(b"v3.5.2 - Fix pooling\r\n\r\n- body line\r\n", tmp_path)
    assert_accepted(b"# comment\r\n\r\nv3.5.2 - Fix pooling\r\n", tmp_path)
    assert_rejected(b"v1.2.3 - \r\n", tmp_path)
    assert_rejected(b"Fix database bug\r\n", tmp_path)


def test_message_without_trailing_newline_is_read(tmp_path: Path) -> None:
    assert_accepted(b"v3.5.2 - Fix pooling", tmp_path)
    assert_rejected(b"Fix database bug", tmp_path)


def test_missing_message_file_is_a_usage_error(tmp_path: Path) -> None:
    result = subprocess.run([str(HOOK), str(tmp_path / "missing")], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "usage" in result.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_runs_the_hook_through_core_hooks_path(tmp_path: Path) -> None:
    """End to end: the README's `git config core.hooksPath .githooks` makes git reject and accept commits."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    repo = tmp_path / "repo"

    def git(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", "-C", str(repo), "-c", f"core.hooksPath={HOOK.parent}", *args],
            capture_output=True, text=True, env=env, timeout=30, check=False,
        )  # fmt: skip

    repo.mkdir()
    assert git("init", "-q").returncode == 0
    (repo / "a.txt").write_text("a\n")
    assert git("add", "a.txt").returncode == 0

    rejected = git("commit", "-q", "-m", "Fix database bug")
    assert rejected.returncode != 0
    assert "vMAJOR.MINOR.PATCH - summary" in rejected.stderr
    assert git("rev-parse", "--verify", "-q", "HEAD").returncode != 0, "the rejected commit must not exist"

    accepted = git("commit", "-q", "-m", "v3.5.2 - Fix database connection pooling issue")
    assert accepted.returncode == 0, accepted.stderr
    assert git("log", "-1", "--format=%s").stdout.strip() == "v3.5.2 - Fix database connection pooling issue"
