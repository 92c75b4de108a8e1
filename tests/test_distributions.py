"""Two distributions from one repository: ``ava-olo-constructs`` (CDK library + rule pack; no boto3, no command)
and ``ava-olo-ops`` (the ``ava-olo`` command; boto3 and rich, never aws-cdk-lib)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import ava_olo_constructs

ROOT = Path(__file__).resolve().parents[1]
#: What the operator tool must never load: the CDK (and its Node.js runtime) or the construct library.
CDK_MODULES = ("aws_cdk", "jsii", "constructs", "cdk_nag", "ava_olo_constructs")


def requirement_names(requirements: list[str]) -> set[str]:
    return {r.split(";")[0].split("[")[0].split("=")[0].split(">")[0].split("<")[0].split("~")[0].strip().lower() for r in requirements}


def project(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"]


def test_construct_library_depends_on_the_cdk_and_cdk_nag_only_and_installs_no_command():
    declared = project(ROOT / "pyproject.toml")
    assert requirement_names(declared["dependencies"]) == {"aws-cdk-lib", "constructs", "cdk-nag"}
    assert "scripts" not in declared
    installed = metadata.distribution("ava-olo-constructs")
    assert "boto3" not in requirement_names(installed.requires or [])
    assert not [e for e in installed.entry_points if e.group == "console_scripts"]


def test_operator_tool_depends_on_boto3_and_rich_not_on_the_cdk_and_installs_ava_olo():
    declared = project(ROOT / "ops" / "pyproject.toml")
    names = requirement_names(declared["dependencies"])
    assert {"boto3", "rich"} <= names
    assert not names & {"aws-cdk-lib", "constructs", "cdk-nag", "ava-olo-constructs", "jsii"}
    assert declared["scripts"] == {"ava-olo": "ava_olo_ops.cli:main"}
    installed = metadata.distribution("ava-olo-ops")
    scripts = {e.name: e.value for e in installed.entry_points if e.group == "console_scripts"}
    assert scripts == {"ava-olo": "ava_olo_ops.cli:main"}


def test_both_distributions_carry_the_same_version():
    assert project(ROOT / "ops" / "pyproject.toml")["version"] == ava_olo_constructs.__version__


def test_importing_every_operator_module_loads_neither_the_cdk_nor_the_construct_library():
    """Fails while any ``ava_olo_ops`` module imports ``ava_olo_constructs`` (the CLI would need aws-cdk-lib
    and start jsii's Node.js runtime on every command)."""
    probe = f"""
import importlib, json, pkgutil, sys
import ava_olo_ops
for module in pkgutil.walk_packages(ava_olo_ops.__path__, "ava_olo_ops."):
    importlib.import_module(module.name)
print(json.dumps(sorted({{name.split(".")[0] for name in sys.modules}} & set({list(CDK_MODULES)!r}))))
"""
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT / "ops")
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
