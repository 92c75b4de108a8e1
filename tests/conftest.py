"""Shared fixtures: every shipped environment is synthesized ONCE per test session, in one App.

Tests read ``aws_cdk.assertions.Template`` objects from :func:`synthesized`; none of them synthesizes a project
stack again. CDK's built-in CloudFormation validation is off here (it costs seconds per process and cfn-lint
checks the same templates in ``./dev.sh check``), and so is ``tree.json`` (no test reads it); cdk-nag is on,
exactly as in ``app.py``, so a new unacknowledged finding fails the whole session.
"""

from __future__ import annotations

import gc
import json
import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from functools import lru_cache  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import pytest  # noqa: E402

if TYPE_CHECKING:  # imported where used: the pytest-xdist controller loads this file and runs no test
    from aws_cdk import Stack
    from aws_cdk.assertions import Template

    from stacks.composition import EnvironmentStacks

ROOT = Path(__file__).resolve().parent.parent

#: The caller's AWS setup that could leak into a test: profiles, credentials, regions, role/container credential
#: sources. Cleared for the whole session (the tests that need a region or fake credentials set their own).
AWS_ENVIRONMENT = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_ENDPOINT_URL", "AWS_CA_BUNDLE", "AWS_STS_REGIONAL_ENDPOINTS",
    "CDK_DEFAULT_ACCOUNT", "CDK_DEFAULT_REGION",
)  # fmt: skip


def pytest_configure(config: pytest.Config) -> None:
    """Before collection, too: a test module that makes a boto3 session at import time (moto's decorators do)
    must not see the caller's AWS setup either (``AWS_PROFILE=does-not-exist`` would fail its import). The
    session fixture below does the same for the run and undoes it at the end.

    moto's EC2 would load its catalogue of ~10,000 public AMIs for every region a test touches; no test here
    reads an AMI, so it does not (``MOTO_EC2_LOAD_DEFAULT_AMIS``, moto's documented switch)."""
    for name in AWS_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.environ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/ava-olo-tests/aws"
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
    config.addinivalue_line("markers", "xdist_group(name): tests pytest-xdist runs in one worker (set below)")
    if hasattr(config.option, "loadscopereorder"):  # pytest-xdist: hand out groups in our order (see FIRST_GROUPS)
        config.option.loadscopereorder = False
    # Collection imports aws-cdk-lib's bindings, moto and botocore: the collector runs less often meanwhile (a young
    # collection every 10,000 allocations instead of CPython's 700; the older generations after 20 and 100 of the
    # younger's instead of 10 and 10). See pytest_collection_finish for the run itself.
    gc.set_threshold(10_000, 20, 100)


@pytest.fixture(scope="session", autouse=True)
def hermetic_aws_environment(tmp_path_factory: pytest.TempPathFactory):
    """Tests never depend on the caller's AWS environment (``AWS_PROFILE=does-not-exist ./dev.sh test`` passes).

    Session-wide and autouse, so it is in force before the session synthesis: every variable of
    :data:`AWS_ENVIRONMENT` is removed, the shared config and credentials files point at files that do not
    exist, and instance-metadata lookups are off. A test that needs a region or credentials sets them itself
    (``monkeypatch.setenv``, moto's ``mock_aws``, explicit client arguments)."""
    missing = tmp_path_factory.mktemp("no-aws")
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_ENVIRONMENT:
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", str(missing / "config-does-not-exist"))
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing / "credentials-does-not-exist"))
        patch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield


class _PathsOnce(list):
    """A loader's search paths, each folder at most once (appending a folder already there changes nothing)."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


@pytest.fixture(scope="session", autouse=True)
def botocore_models_read_once():
    """Every botocore session of the run shares ONE data loader, so each service model and endpoint ruleset is
    read from botocore's data files once per run instead of once per session. moto's ``mock_aws`` drops boto3's
    default session on every start and the operator tool opens a session per command, so without this each
    test re-reads the same JSON (the bulk of the ops tests' time). What is loaded is the same: the files of the
    installed botocore, through botocore's own loader (a session with its own ``data_path`` keeps its own).

    Likewise each client class (one Python method per operation of the service, built from that model) is
    built once per service and API version and reused by every later client; each client still gets its own
    endpoint, credentials, configuration and event handlers, exactly as botocore makes them."""
    import botocore.client
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    # Every boto3.Session appends boto3's own data folder to its loader's search paths; on the shared loader that
    # would add the same folder once per session, and each first lookup of a model would walk every copy.
    shared._search_paths = _PathsOnce(shared.search_paths)
    classes: dict[tuple[str, str], type] = {}
    build_class = botocore.client.ClientCreator._create_client_class

    def create_client_class(self, service_name: str, service_model: Any) -> type:
        key = (service_name, service_model.api_version)
        if key not in classes:
            classes[key] = build_class(self, service_name, service_model)
        return classes[key]

    def register_data_loader(self) -> None:
        def loader():
            data_path = self.get_config_variable("data_path")
            return botocore.loaders.create_loader(data_path) if data_path else shared

        self._components.lazy_register_component("data_loader", loader)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session.Session, "_register_data_loader", register_data_loader)
        patch.setattr(botocore.client.ClientCreator, "_create_client_class", create_client_class)
        yield


#: The shipped files, as ``available_environments()`` / ``available_deliveries()`` list them (the ``project``
#: fixture checks that they agree); listed here without importing the CDK, for parametrization at collection.
ENVIRONMENTS = sorted(p.stem for p in (ROOT / "environments").glob("*.json"))
DELIVERIES = sorted(p.stem for p in (ROOT / "delivery").glob("*.json"))
#: No CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION: the synthesis must not depend on the machine's AWS setup.
OFFLINE_ENVIRON: dict[str, str] = {}


@dataclass
class SynthesizedEnvironment:
    stacks: EnvironmentStacks
    templates: dict[str, dict[str, Any]]
    _assertions: dict[str, Template] = field(default_factory=dict, repr=False)

    @property
    def config(self):
        return self.stacks.config

    def template(self, stack: Stack) -> Template:
        """The stack's ``Template``, made once per session: ``Template.from_json`` copies the whole template into
        the jsii runtime (tens of milliseconds for a service stack), and queries never change it."""
        from aws_cdk.assertions import Template

        if stack.artifact_id not in self._assertions:
            self._assertions[stack.artifact_id] = Template.from_json(self.templates[stack.artifact_id])
        return self._assertions[stack.artifact_id]

    @property
    def network(self) -> Template:
        return self.template(self.stacks.network)

    @property
    def service(self) -> Template:
        return self.template(self.stacks.service)

    def all_templates(self) -> dict[str, Template]:
        return {stack.stack_name: self.template(stack) for stack in self.stacks.all}


@dataclass
class SynthesizedProject:
    environments: dict[str, SynthesizedEnvironment]
    deliveries: dict[str, Any]  # name -> (DeliveryStack, template dict)
    assembly: Any
    outdir: Path


@pytest.fixture(scope="session")
def project(tmp_path_factory: pytest.TempPathFactory, hermetic_aws_environment) -> SynthesizedProject:
    from stacks.composition import build_delivery, build_environment, create_app
    from stacks.config import available_environments, load_environment
    from stacks.config.delivery import available_deliveries, load_delivery

    assert (ENVIRONMENTS, DELIVERIES) == (available_environments(), available_deliveries())
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = create_app(outdir=str(outdir), validation=False, tree_metadata=False)  # templates and manifest only
    built = {
        name: build_environment(app, load_environment(name, environ=OFFLINE_ENVIRON)) for name in ENVIRONMENTS
    }
    # Delivery stacks share the App (one synth); their construct ids carry the file name to stay unique.
    delivery_stacks = {
        name: build_delivery(app, load_delivery(name, environ=OFFLINE_ENVIRON), construct_id=f"Delivery-{name}")
        for name in DELIVERIES
    }
    assembly = app.synth()
    # The templates as CDK wrote them (the files `cdk deploy` uploads), read here rather than through jsii.
    artifacts = manifest(str(outdir))["artifacts"]

    def template(stack: Stack) -> dict[str, Any]:
        return json.loads((outdir / artifacts[stack.artifact_id]["properties"]["templateFile"]).read_text())

    environments = {
        name: SynthesizedEnvironment(stacks=stacks, templates={s.artifact_id: template(s) for s in stacks.all})
        for name, stacks in built.items()
    }
    deliveries = {name: (stack, template(stack)) for name, stack in delivery_stacks.items()}
    return SynthesizedProject(environments=environments, deliveries=deliveries, assembly=assembly, outdir=outdir)


@pytest.fixture(scope="session")
def production(project: SynthesizedProject) -> SynthesizedEnvironment:
    return project.environments["production"]


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def each_environment(request: pytest.FixtureRequest, project: SynthesizedProject) -> SynthesizedEnvironment:
    return project.environments[request.param]


def only(resources: dict[str, Any]) -> dict[str, Any]:
    """The single resource of a ``find_resources`` result (fails loudly if there are 0 or several)."""
    assert len(resources) == 1, f"expected exactly one resource, found {sorted(resources)}"
    return next(iter(resources.values()))


def service_task_definition(template) -> dict[str, Any]:
    """The task definition the (single) ECS service runs: not the migration task's."""
    service = only(template.find_resources("AWS::ECS::Service"))
    return template.find_resources("AWS::ECS::TaskDefinition")[service["Properties"]["TaskDefinition"]["Ref"]]


def service_container(template) -> dict[str, Any]:
    containers = service_task_definition(template)["Properties"]["ContainerDefinitions"]
    assert len(containers) == 1
    return containers[0]


def service_execution_role_statements(template) -> list[dict[str, Any]]:
    """Statements of the policies attached to the service task definition's execution role."""
    role = service_task_definition(template)["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


@lru_cache(maxsize=None)
def manifest(outdir: str) -> dict[str, Any]:
    """The ``manifest.json`` of a synthesized cloud assembly, parsed once (read it, do not change it)."""
    return json.loads((Path(outdir) / "manifest.json").read_text())


_METADATA: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}


def assembly_metadata(stack: Stack, entry_type: str) -> list[tuple[str, Any]]:
    """``(construct path, data)`` of every metadata entry of ``entry_type`` CDK wrote for a synthesized stack into
    its cloud assembly (``aws:cdk:warning``, ``aws:cdk:acknowledged-rules``, ...): what ``cdk deploy`` reads, read
    as JSON. Walking the construct tree instead (``Annotations.from_stack`` re-synthesizes) costs a jsii round trip
    per construct, seconds per stack."""
    outdir = stack.node.root.outdir
    key = (outdir, stack.artifact_id)
    if key not in _METADATA:
        artifact = manifest(outdir)["artifacts"][stack.artifact_id]
        metadata = dict(artifact.get("metadata", {}))
        if "additionalMetadataFile" in artifact:
            metadata.update(json.loads((Path(outdir) / artifact["additionalMetadataFile"]).read_text()))
        _METADATA[key] = metadata
    return [(path.removeprefix("/"), entry["data"]) for path, entries in _METADATA[key].items()
            for entry in entries if entry["type"] == entry_type]  # fmt: skip


def acknowledgements(stack: Stack) -> list[tuple[str, str, str]]:
    """The cdk-nag acknowledgements of a synthesized stack, as :func:`ava_olo_constructs.acknowledgements` lists
    them (``(construct path, rule id, reason)``), from the assembly (:func:`assembly_metadata`).
    ``test_compliance`` checks that both agree."""
    from aws_cdk import Validations

    from ava_olo_constructs.compliance import PACKS

    return sorted(
        (path, rule.partition("::")[2], reason)
        for path, data in assembly_metadata(stack, Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        for rule, reason in data.items()
        if rule.partition("::")[0] in PACKS
    )


#: The groups that take longest, started first (longest first: the postgres group mostly waits on real processes,
#: so it starts at once and the other workers fill the cores meanwhile). Every other group follows in
#: collection order. pytest-xdist's own reordering (by number of tests) is off: it started the 28 slow PostgreSQL
#: tests last, and the run ended with one worker finishing them alone.
FIRST_GROUPS = ("postgres", "session-synthesis", "moto")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``./dev.sh test`` runs the suite on every core (pytest-xdist, ``--dist loadgroup``): tests that share a
    costly, once-per-process start run in the same worker, so it is paid once per run, not once per worker.

    - ``session-synthesis``: every test that reads the session synthesis (the ``project`` fixture);
    - ``postgres``: the reference service's tests (one PostgreSQL cluster, one migrated template database);
    - ``moto``: the operator tool's tests against moto (botocore and moto read each service model once);
    - any other test: its module (a module's fixtures, e.g. an App built for the module, are built once).

    The groups are handed out longest first (:data:`FIRST_GROUPS`), then in collection order."""
    groups: dict[str, str] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        if "project" in item.fixturenames:
            group = "session-synthesis"
        elif path.startswith("tests/reference_service/"):
            group = "postgres"
        elif path.startswith("tests/ops/"):
            group = "moto"
        else:
            group = path
        item.add_marker(pytest.mark.xdist_group(group))
        groups[item.nodeid] = group
    rank = {group: index for index, group in enumerate(FIRST_GROUPS)}
    items.sort(key=lambda item: rank.get(groups[item.nodeid], len(FIRST_GROUPS)))  # stable: collection order


def pytest_collection_finish(session: pytest.Session) -> None:
    """Everything imported so far (aws-cdk-lib's bindings, moto's and botocore's models) lives until the end: it
    leaves the garbage collector's generations (``gc.freeze``). And for the run itself the cyclic collector is off:
    a worker lives for one run, its memory is returned when it ends (about 0.5 GB at most here, against 0.45 GB
    with the collector on), and the collections it saves (the tests allocate in bursts: a synthesized template, a
    moto backend) cost about 1 s of CPU per run (5-8 s with CPython's defaults). Objects without cycles are still
    freed at once by reference counting; only when and whether cyclic garbage is scanned changes, no test reads it.
    """
    gc.freeze()
    gc.disable()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """The same for what the tests built (synthesized Apps, templates): pytest's unraisable-exception check then
    runs its five final collections over what is still young, instead of over the whole heap."""
    gc.freeze()
