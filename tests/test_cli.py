"""app.py as the CDK CLI runs it: a configuration error is one `error:` line on stderr and a non-zero exit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
if not PYTHON.exists():
    PYTHON = Path(sys.executable)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CDK_", "JSII_"))}
    env["JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"] = "20"
    env.update(extra)
    return env


def synth(tmp_path: Path, context: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    outdir = tmp_path / "cdk.out"
    return subprocess.run(
        [str(PYTHON), "app.py"],
        cwd=ROOT,
        env=_env(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(outdir)),
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    result = synth(tmp_path, {"env": "nope"})
    line = assert_one_error_line(result, "env", "nope")
    assert "production" in line and "sandbox" in line


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
    result = synth(tmp_path, {"env": "bad", "config_dir": str(config_dir)})
    line = assert_one_error_line(result, "memory", 8192)
    assert "'bad'" in line and "cpu 512" in line


def test_connection_budget_overrun_names_both_numbers(tmp_path: Path) -> None:
    config_dir = config_dir_with(
        tmp_path, "crowded", min_count=2, desired_count=2, max_count=10, database={"instance_class": "t4g.medium"}
    )
    result = synth(tmp_path, {"env": "crowded", "config_dir": str(config_dir)})
    line = assert_one_error_line(result, "max_count", 10)
    assert "1010" in line and "max_connections 405" in line and "db.t4g.medium" in line


def test_latest_is_not_a_version(tmp_path: Path) -> None:
    result = synth(tmp_path, {"env": "production", "version": "latest"})
    line = assert_one_error_line(result, "-c version", "latest")
    assert "'production'" in line


def test_library_imports_and_constructs_is_the_pypi_package() -> None:
    result = subprocess.run(
        [
            str(PYTHON),
            "-c",
            "import ava_olo_constructs, constructs; from constructs import Construct; "
            "import sys; print(sys.modules[Construct.__module__.split('.')[0]].__file__); print(constructs.__file__)",
        ],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    paths = result.stdout.strip().splitlines()
    assert len(paths) == 2, result.stdout
    for path in paths:
        assert "site-packages" in path, path
        assert not Path(path).resolve().is_relative_to(ROOT / "constructs"), path
