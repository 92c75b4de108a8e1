"""app.py as the CDK CLI runs it: a configuration error is one `error:` line on stderr and a non-zero exit."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from contextlib import redirect_stderr


ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_"))}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env.update(extra)
    return env


def synth(tmp_path: Path, context: dict[str, Any], *python_options: str) -> subprocess.CompletedProcess[str]:
    outdir = tmp_path / "cdk.out"
    return subprocess.run(
        [str(PYTHON), *python_options, "app.py"],
        cwd=ROOT,
        env=_env(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(outdir)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def synth_in_process(tmp_path: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    """``app.main()`` in this process, as ``cdk synth -c ...`` would run app.py: its exit status and stderr.

    The one-line error is what these tests prove; one real ``python app.py`` (test_unknown_environment) proves
    the CLI path itself (the options read from CDK_CONTEXT_JSON by aws-cdk-lib's App), so the others need not
    pay a process start (~2.5 s each). Should a case get past the configuration, its App writes to tmp_path."""
    import app
    from stacks.composition import create_app

    outdir = tmp_path / "cdk.out"
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, redirect_stderr(stderr):
        patch.setattr(app, "cli_options", lambda: context)
        patch.setattr(app, "create_app", lambda: create_app(outdir=str(outdir), context=context, validation=False))
        status = app.main()
    return subprocess.CompletedProcess(["app.main()"], status, stdout="", stderr=stderr.getvalue())


def assert_one_error_line(result: subprocess.CompletedProcess[str], field: str, value: Any) -> str:
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error:"), line
    assert f" {field}: " in line, line
    assert repr(value) in line, line
    assert "is not allowed;" in line, line
    return line


def test_unknown_environment(tmp_path: Path) -> None:
    """One line naming the environments there are, before the construct library is even imported (a typo does
    not wait for aws-cdk-lib's constructs and cdk-nag to load): ``-X importtime`` lists every import."""
    result = synth(tmp_path, {"env": "nope"}, "-X", "importtime")
    lines = result.stderr.splitlines()
    imported = {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}
    result.stderr = "".join(f"{line}\n" for line in lines if not line.startswith("import time:"))
    line = assert_one_error_line(result, "env", "nope")
    assert "production" in line and "sandbox" in line
    assert "aws_cdk" in imported, "the options are read by aws-cdk-lib's App"
    assert not {name for name in imported if name.split(".")[0] in ("ava_olo_constructs", "cdk_nag")}


def test_the_app_reads_each_of_its_options_from_the_cdk_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """``app.cli_options`` reads ``-c delivery / env / version / config_dir`` from aws-cdk-lib's App context, where
    the CLI's CDK_CONTEXT_JSON lands (test_unknown_environment goes through that variable in a real process; the
    in-process tests below hand ``app.main`` their options directly)."""
    import aws_cdk

    import app

    given = {"delivery": "main", "env": "staging", "version": "v1.2.3", "config_dir": "/srv/envs", "@aws-cdk/x": True}
    real_app = aws_cdk.App
    monkeypatch.setattr(aws_cdk, "App", lambda **kwargs: real_app(context=given, **kwargs))
    assert app.cli_options() == {"delivery": "main", "env": "staging", "version": "v1.2.3", "config_dir": "/srv/envs"}


def test_a_library_error_while_configuring_is_one_line_with_status_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should a setting reach the construct library's checks unwrapped, its PropsError is still one line, exit 2
    (``synth_or_exit``'s handling), not a traceback."""
    import app
    from ava_olo_constructs import PropsError

    def configure(options: Any) -> Any:
        raise PropsError("vpc_cidr", "10.0.0.1/16", "a network address (host bits zero)")

    monkeypatch.setattr(app, "cli_options", lambda: {"env": "sandbox"})
    monkeypatch.setattr(app, "configure", configure)
    stderr = io.StringIO()
    with redirect_stderr(stderr):
        status = app.main()
    result = subprocess.CompletedProcess(["app.main()"], status, stdout="", stderr=stderr.getvalue())
    assert status == 2
    assert_one_error_line(result, "vpc_cidr", "10.0.0.1/16")


def config_dir_with(tmp_path: Path, name: str, **settings: Any) -> Path:
    """A config_dir holding one minimal valid environment file plus ``settings``."""
    config_dir = tmp_path / "envs"
    config_dir.mkdir()
    raw = {
        "region": "eu-central-1",
        "availability_zones": 2,
        "image": {"repository": "ava-olo-monitoring-dashboards", "tag": "v1.0.0"},
        **settings,
    }
    (config_dir / f"{name}.json").write_text(json.dumps(raw), encoding="utf-8")
    return config_dir


def test_impossible_fargate_size_from_config_dir(tmp_path: Path) -> None:
    config_dir = config_dir_with(tmp_path, "bad", cpu=512, memory=8192)
    result = synth_in_process(tmp_path, {"env": "bad", "config_dir": str(config_dir)})
    line = assert_one_error_line(result, "memory", 8192)
    assert "'bad'" in line and "cpu 512" in line


def test_connection_budget_overrun_names_both_numbers(tmp_path: Path) -> None:
    config_dir = config_dir_with(
        tmp_path, "crowded", min_count=2, desired_count=2, max_count=10, database={"instance_class": "t4g.medium"}
    )
    result = synth_in_process(tmp_path, {"env": "crowded", "config_dir": str(config_dir)})
    line = assert_one_error_line(result, "max_count", 10)
    assert "1010" in line and "max_connections 405" in line and "db.t4g.medium" in line


def test_latest_is_not_a_version(tmp_path: Path) -> None:
    result = synth_in_process(tmp_path, {"env": "production", "version": "latest"})
    line = assert_one_error_line(result, "-c version", "latest")
    assert "'production'" in line


def test_library_imports_and_constructs_is_the_pypi_package() -> None:
    """``import constructs`` from the checkout (its ``constructs/`` directory first on the path, as for
    ``python app.py``) is the PyPI package, not the library's directory. Resolved afresh by the import system's
    path finder over that path, so no process start is needed."""
    from importlib.machinery import PathFinder

    import ava_olo_constructs  # noqa: F401  (the library imports)
    from constructs import Construct

    search_path = [str(ROOT), *sys.path]
    found = PathFinder.find_spec("constructs", search_path)
    assert found is not None and found.origin, found
    paths = [found.origin, sys.modules[Construct.__module__.split(".")[0]].__file__]
    for path in paths:
        assert "site-packages" in path, path
        assert not Path(path).resolve().is_relative_to(ROOT / "constructs"), path


def test_operator_commands_import_neither_the_construct_library_nor_the_cdk() -> None:
    """ava_olo_ops ships apart from ava_olo_constructs: watch, verify, preflight, rollback, status and timeline load
    without aws_cdk, jsii or the library (they learn names from AWS and flags, not environments/*.json)."""
    modules = "watch, verify, preflight, rollback, status, timeline, target, versions, console"
    result = subprocess.run(
        [str(PYTHON), "-c", f"import sys; from ava_olo_ops import {modules}; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'jsii', 'ava_olo_constructs', 'constructs')))"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
