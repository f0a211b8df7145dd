"""The deploy files, checked offline: the Kubernetes manifests against the API's own schemas
(kubernetes-validate ships them), the ECS stack through cfn-lint, both holding to what the bot
needs (one process on one volume, probes on the liveness endpoint, secrets from a secret store,
a stop within the grace the bot needs, a non-root user); and the lock the image installs from
pins every runtime dependency, with hashes."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from cfnlint.api import lint_file
from cfnlint.decode import cfn_yaml
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bot.ops.probes import HEALTH_PATH
from bot.settings.config import Settings
from bot.slack.serve import STOP_GRACE_S

ROOT = Path(__file__).resolve().parent.parent
KUBERNETES = ROOT / "deploy" / "kubernetes"
ECS = ROOT / "deploy" / "ecs" / "ssm3-bot.yaml"
LOCK = ROOT / "requirements.lock"
BUILD_LOCK = ROOT / "requirements-build.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
IMAGE_UID = 10001  # the Dockerfile's USER
PORT = Settings().http_port
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests promise to suit


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found.append((path.name, document))
    return found


def the(kind: str) -> dict[str, Any]:
    [found] = [d for _, d in k8s_documents() if d["kind"] == kind]
    return found


# -- Kubernetes -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "document"), k8s_documents(), ids=lambda v: str(v)[:30])
def test_each_manifest_validates_against_the_kubernetes_schemas(
    name: str, document: dict[str, Any]
) -> None:
    for version in (K8S_VERSION, kubernetes_validate.latest_version()):
        kubernetes_validate.validate(document, version, strict=True)  # raises on any problem


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files - {"secret.example.yaml"}


def test_one_replica_recreated_on_a_read_write_once_volume() -> None:
    deployment = the("Deployment")["spec"]
    assert deployment["replicas"] == 1
    assert deployment["strategy"] == {"type": "Recreate"}, "never two pods on the database"
    claim = the("PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    pod = deployment["template"]["spec"]
    [data] = [v for v in pod["volumes"] if "persistentVolumeClaim" in v]
    assert data["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    [container] = pod["containers"]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == data["name"]]
    db_path = the("ConfigMap")["data"]["SSM3_DB_PATH"]
    assert db_path.startswith(mount["mountPath"] + "/")


def test_probes_call_healthz_on_the_http_port() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [port] = container["ports"]
    assert port["containerPort"] == int(the("ConfigMap")["data"]["SSM3_HTTP_PORT"]) == PORT
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": HEALTH_PATH, "port": port["name"]}
    assert pod["terminationGracePeriodSeconds"] > STOP_GRACE_S


def test_secrets_come_from_a_secret_and_the_pod_runs_unprivileged() -> None:
    pod = the("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    secret = the("Secret")["metadata"]["name"]
    for variable in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        [entry] = [e for e in container["env"] if e["name"] == variable]
        assert entry["valueFrom"]["secretKeyRef"]["name"] == secret
    assert not re.search(r"xox[bp]-|xapp-", yaml.safe_dump(the("ConfigMap")))
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == IMAGE_UID
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    resources = container["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


# -- ECS --------------------------------------------------------------------------------------------
def test_the_ecs_stack_passes_cfn_lint() -> None:
    assert [str(match) for match in lint_file(ECS)] == []


def test_the_ecs_task_runs_alone_on_a_host_volume_with_the_same_probe() -> None:
    resources = cfn_yaml.load(str(ECS))["Resources"]
    task = resources["TaskDefinition"]["Properties"]
    assert task["RequiresCompatibilities"] == ["EC2"], "EBS on the host, not EFS on Fargate"
    assert not any(
        "EFSVolumeConfiguration" in v or "ConfiguredAtLaunch" in v for v in task["Volumes"]
    )
    [volume] = task["Volumes"]
    [container] = task["ContainerDefinitions"]
    [mount] = container["MountPoints"]
    assert mount["SourceVolume"] == volume["Name"]
    env = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert env["SSM3_DB_PATH"].startswith(mount["ContainerPath"] + "/")
    assert env["SSM3_HTTP_PORT"] == str(PORT)
    check = " ".join(container["HealthCheck"]["Command"])
    assert f"http://127.0.0.1:{PORT}{HEALTH_PATH}" in check
    assert container["StopTimeout"] > STOP_GRACE_S
    assert container["User"] == f"{IMAGE_UID}:{IMAGE_UID}"
    assert container["ReadonlyRootFilesystem"] is True
    assert {s["Name"] for s in container["Secrets"]} == {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"}
    service = resources["Service"]["Properties"]
    assert service["DesiredCount"] == 1
    deployment = service["DeploymentConfiguration"]
    assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == (100, 0)
    assert resources["DataVolume"]["Type"] == "AWS::EC2::Volume"
    assert resources["DataVolume"]["DeletionPolicy"] == "Snapshot"
    group = resources["InstanceGroup"]["Properties"]
    assert group["MaxSize"] == group["MinSize"] == "1"


def test_the_ecs_task_cannot_reach_the_instances_metadata() -> None:
    """The instance profile's credentials stay on the host: IMDSv2 with a one-hop token (a
    container is a second hop) and the agent blocking awsvpc tasks; the task's own role
    comes from the agent."""
    resources = cfn_yaml.load(str(ECS))["Resources"]
    data = resources["LaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"] == {
        "HttpEndpoint": "enabled",
        "HttpTokens": "required",
        "HttpPutResponseHopLimit": 1,
    }
    user_data = str(data["UserData"])
    assert "ECS_AWSVPC_BLOCK_IMDS=true" in user_data
    task = resources["TaskDefinition"]["Properties"]
    assert task["NetworkMode"] == "awsvpc"  # what ECS_AWSVPC_BLOCK_IMDS covers
    assert "TaskRoleArn" in task


# -- the lock -------------------------------------------------------------------------------------
def locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (pinned version, hashes) of a pip-compile --generate-hashes file."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)\s*(.*)$", line)
        if match:
            name, version, rest = match.groups()
            pins[canonicalize_name(name)] = (
                version,
                re.findall(r"--hash=sha256:([0-9a-f]{64})", rest),
            )
    return pins


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pins = locked(LOCK)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock"
        version, _ = pins[name]
        assert requirement.specifier.contains(version), f"{name}=={version} breaks {spec!r}"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{name}=={version} has no --hash"
    runtime = {canonicalize_name(Requirement(d).name) for d in project["dependencies"]}
    dev = {canonicalize_name(Requirement(d).name) for d in project["optional-dependencies"]["dev"]}
    assert (dev - runtime) & set(pins) == set(), "the image's lock holds no dev tool"


def test_the_lock_is_closed_under_dependencies() -> None:
    """--require-hashes refuses any dependency the lock does not name: each locked package's own
    requirements (as installed here, markers for Linux and CPython 3.11) are locked too."""
    pins = locked(LOCK)
    environment = dict(default_environment(), python_version="3.11", sys_platform="linux")
    for name in pins:
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # e.g. pip's own: not a dependency here
        for spec in requires:
            requirement = Requirement(spec)
            marker = requirement.marker
            if marker is not None and not marker.evaluate({**environment, "extra": ""}):
                continue
            assert canonicalize_name(requirement.name) in pins, f"{name} needs {spec}"


def test_the_dev_lock_runs_the_tests_on_the_images_versions() -> None:
    """`make test` installs requirements-dev.lock: every runtime package at the very version
    (and hashes) the image installs, every dev extra pinned with hashes, so what CI tested is
    what a new user and the image run."""
    runtime, dev = locked(LOCK), locked(DEV_LOCK)
    for name, (version, hashes) in runtime.items():
        assert name in dev, f"{name} is in requirements.lock but not requirements-dev.lock"
        assert dev[name][0] == version, f"{name}: {dev[name][0]} for tests, {version} in the image"
        assert set(hashes) <= set(dev[name][1])
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in extras["optional-dependencies"]["dev"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in dev, f"{requirement.name} is not in requirements-dev.lock"
        assert requirement.specifier.contains(dev[name][0]), f"{name} breaks {spec!r}"
    assert all(hashes for _, hashes in dev.values()), "every dev pin carries its hashes"


def test_make_installs_only_from_the_locks() -> None:
    """`make demo` and `make test` install the locks at their hashes, then the project alone."""
    makefile = (ROOT / "Makefile").read_text()
    for lock in ("requirements.lock", "requirements-dev.lock", "requirements-build.lock"):
        assert f"--require-hashes -r {lock}" in makefile
    assert makefile.count("--no-deps --no-build-isolation -e .") == 2
    assert "install --quiet -e ." not in makefile
    assert "-e '.[dev]'" not in makefile


def test_the_build_lock_pins_the_build_backend() -> None:
    pins = locked(BUILD_LOCK)
    build = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    for spec in build:
        requirement = Requirement(spec)
        version, hashes = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(version)
        assert hashes
