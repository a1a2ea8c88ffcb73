"""The Helm chart (charts/lantern): it lints, renders valid Kubernetes, and agrees with the app it deploys.

Each value set in charts/lantern/ci/ is rendered once with the real helm (tests/deploy/conftest.py), and
every manifest is validated offline against the Kubernetes schemas in strict mode.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import os
import re
import shlex
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from arq.worker import Worker
from kubernetes_validate import utils as kubernetes

from app.settings import get_settings
from tests.deploy.conftest import (
    KUBERNETES_VERSION,
    RELEASE,
    ROOT,
    VALUE_SETS,
    AppFacts,
    Helm,
    values_file,
)
from tests.support.environment import environment
from tests.support.worker import running_worker

Manifests = list[dict[str, Any]]

WEB = f"{RELEASE}-web"
WORKER = f"{RELEASE}-worker"
MIGRATE = f"{RELEASE}-migrate"
CLI = ["python", "-m", "app.cli"]


def of_kind(manifests: Manifests, kind: str) -> Manifests:
    return [manifest for manifest in manifests if manifest["kind"] == kind]


def named(manifests: Manifests, kind: str, name: str) -> dict[str, Any]:
    found = [manifest for manifest in of_kind(manifests, kind) if manifest["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(manifests: Manifests) -> dict[str, dict[str, Any]]:
    """The pod template of every Deployment and Job, by workload name."""
    return {
        manifest["metadata"]["name"]: manifest["spec"]["template"]
        for manifest in manifests
        if manifest["kind"] in {"Deployment", "Job"}
    }


def only_container(manifests: Manifests, kind: str, name: str) -> dict[str, Any]:
    (container,) = named(manifests, kind, name)["spec"]["template"]["spec"]["containers"]
    return container


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in container.get("env", [])}


def secret_ref(container: dict[str, Any], variable: str) -> dict[str, Any]:
    reference: dict[str, Any] = env_of(container)[variable]["valueFrom"]["secretKeyRef"]
    return reference


def decoded(secret: dict[str, Any]) -> dict[str, str]:
    return {key: base64.b64decode(value).decode() for key, value in secret.get("data", {}).items()}


def hooks(manifest: dict[str, Any]) -> set[str]:
    return set(manifest["metadata"].get("annotations", {}).get("helm.sh/hook", "").split(","))


def values(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(values_file(name).read_text())
    return loaded


# --- helm lint and Kubernetes validity ---------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_chart_lints_strictly(helm: Helm, value_set: str) -> None:
    result = helm.run("lint", "--strict", ROOT / "charts" / "lantern", "--values", values_file(value_set))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_is_valid_kubernetes_in_strict_mode(rendered: dict[str, Manifests], value_set: str) -> None:
    manifests = rendered[value_set]
    assert {"Deployment", "Job", "ConfigMap", "Service"} <= {manifest["kind"] for manifest in manifests}
    for manifest in manifests:
        kubernetes.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_strict_validation_rejects_a_field_kubernetes_does_not_know(rendered: dict[str, Manifests]) -> None:
    deployment = copy.deepcopy(named(rendered["default"], "Deployment", WEB))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGett"] = {"path": "/health"}
    with pytest.raises(kubernetes.ValidationError, match="httpGett"):
        kubernetes.validate(deployment, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize(
    ("value_set", "kinds"),
    [
        (
            "default",
            {
                "ConfigMap": 1,
                "Secret": 2,  # the app's, and the migration hook's
                "ServiceAccount": 1,
                "Service": 1,
                "Deployment": 2,
                "HorizontalPodAutoscaler": 2,
                "PodDisruptionBudget": 2,
                "Job": 1,
            },
        ),
        (
            "existing-secret",
            {
                "ConfigMap": 1,
                "Service": 1,
                "Deployment": 2,
                "HorizontalPodAutoscaler": 2,
                "PodDisruptionBudget": 2,
                "Job": 1,
            },
        ),
        (
            "ingress-tls",
            {
                "ConfigMap": 1,
                "Secret": 2,
                "ServiceAccount": 1,
                "Service": 1,
                "Ingress": 1,
                "PersistentVolumeClaim": 1,
                "Deployment": 2,
                "HorizontalPodAutoscaler": 2,
                "PodDisruptionBudget": 2,
                "Job": 1,
            },
        ),
        (
            "no-autoscaling",
            {
                "ConfigMap": 1,
                "Secret": 2,
                "ServiceAccount": 1,
                "Service": 1,
                "Deployment": 2,
                "PodDisruptionBudget": 1,
                "Job": 1,
            },
        ),
        (
            "s3-storage",
            {
                "ConfigMap": 1,
                "Secret": 2,
                "ServiceAccount": 1,
                "Service": 1,
                "Deployment": 2,
                "HorizontalPodAutoscaler": 2,
                "PodDisruptionBudget": 2,
                "Job": 1,
            },
        ),
    ],
)
def test_each_value_set_renders_the_resources_it_asks_for(
    rendered: dict[str, Manifests], value_set: str, kinds: dict[str, int]
) -> None:
    assert Counter(manifest["kind"] for manifest in rendered[value_set]) == kinds


# --- database roles: the owner URL reaches the migration hook only --------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_migration_hook_runs_migrate_with_the_owner_url_before_install_and_upgrade(
    rendered: dict[str, Manifests], app_facts: AppFacts, value_set: str
) -> None:
    manifests = rendered[value_set]
    job = named(manifests, "Job", MIGRATE)
    assert hooks(job) == {"pre-install", "pre-upgrade"}
    container = only_container(manifests, "Job", MIGRATE)
    assert container["command"] == [*CLI, "migrate"]
    assert "migrate" in cli_commands(app_facts.cli_help)
    owner = secret_ref(container, "DATABASE_OWNER_URL")
    assert owner["key"] == "DATABASE_OWNER_URL"
    # The migration grants the app role (the user of DATABASE_URL) its privileges: it needs that URL too.
    assert secret_ref(container, "DATABASE_URL")["key"] == "DATABASE_URL"

    if values(value_set).get("existingSecret"):
        assert owner["name"] == values(value_set)["existingSecret"]
        return
    # The chart's owner Secret is a hook too: it exists before the Job runs (pre-install comes before any
    # ordinary resource) and is deleted once the hooks have succeeded.
    secret = named(manifests, "Secret", owner["name"])
    assert hooks(secret) == {"pre-install", "pre-upgrade"}
    annotations = secret["metadata"]["annotations"]
    assert int(annotations["helm.sh/hook-weight"]) < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    assert "hook-succeeded" in annotations["helm.sh/hook-delete-policy"]
    assert decoded(secret)["DATABASE_OWNER_URL"] == values(value_set)["secrets"]["databaseOwnerUrl"]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_migration_job_does_not_need_the_charts_service_account(rendered: dict[str, Manifests], value_set: str) -> None:
    """At pre-install the chart's ordinary resources (its ServiceAccount among them) do not exist yet."""
    manifests = rendered[value_set]
    pod = named(manifests, "Job", MIGRATE)["spec"]["template"]["spec"]
    charts_accounts = {account["metadata"]["name"] for account in of_kind(manifests, "ServiceAccount")}
    assert pod.get("serviceAccountName", "default") not in charts_accounts


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_deployments_get_the_app_database_url_and_never_the_owner_url(
    rendered: dict[str, Manifests], value_set: str
) -> None:
    manifests = rendered[value_set]
    for name in (WEB, WORKER):
        deployment = named(manifests, "Deployment", name)
        assert "DATABASE_OWNER_URL" not in json.dumps(deployment), name
        container = only_container(manifests, "Deployment", name)
        assert secret_ref(container, "DATABASE_URL")["key"] == "DATABASE_URL"
        # Only the ConfigMap comes in whole; secrets come key by key, so an operator's Secret that also
        # holds the owner URL does not hand it to the pods.
        assert all(set(source) == {"configMapRef"} for source in container["envFrom"])

    (config,) = of_kind(manifests, "ConfigMap")
    assert not {"DATABASE_URL", "DATABASE_OWNER_URL"} & set(config["data"])
    if values(value_set).get("existingSecret"):
        assert not of_kind(manifests, "Secret")
        return
    app_secret = named(
        manifests, "Secret", secret_ref(only_container(manifests, "Deployment", WEB), "DATABASE_URL")["name"]
    )
    assert not hooks(app_secret) - {""}
    secrets = decoded(app_secret)
    assert "DATABASE_OWNER_URL" not in secrets
    assert secrets["DATABASE_URL"] == values(value_set)["secrets"]["databaseUrl"]
    assert secrets["REDIS_URL"] == values(value_set)["secrets"]["redisUrl"]
    assert secrets["LANTERN_SECRET_KEY"]


def test_credentials_of_smtp_and_s3_come_from_the_secret(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["ingress-tls"]
    given = values("ingress-tls")["secrets"]
    container = only_container(manifests, "Deployment", WORKER)
    secret = decoded(named(manifests, "Secret", secret_ref(container, "SMTP_PASSWORD")["name"]))
    assert secret["LANTERN_SECRET_KEY"] == given["secretKey"]
    assert secret["SMTP_USER"] == given["smtpUser"]
    assert secret["SMTP_PASSWORD"] == given["smtpPassword"]
    assert secret["AWS_ACCESS_KEY_ID"] == given["s3AccessKeyId"]
    assert secret["AWS_SECRET_ACCESS_KEY"] == given["s3SecretAccessKey"]
    assert env_of(container)["AWS_ENDPOINT_URL"]["value"] == "https://s3.example.com"
    # Without them (the default value set) the keys are optional, and the app sees no variable at all.
    default = only_container(rendered["default"], "Deployment", WORKER)
    assert secret_ref(default, "SMTP_PASSWORD")["optional"] is True


def test_uploads_go_to_the_s3_bucket_of_the_values(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["s3-storage"]
    given = values("s3-storage")
    (config,) = of_kind(manifests, "ConfigMap")
    storage = {
        name: value for name, value in config["data"].items() if name.startswith(("LANTERN_S3_", "LANTERN_STORAGE"))
    }
    assert storage == {
        "LANTERN_STORAGE": "s3",
        "LANTERN_S3_BUCKET": given["config"]["s3"]["bucket"],
        "LANTERN_S3_ENDPOINT_URL": given["config"]["s3"]["endpointUrl"],
        "LANTERN_S3_REGION": given["config"]["s3"]["region"],
    }
    # A bucket needs no shared volume; the credentials reach both workloads under the S3 clients' names.
    assert not of_kind(manifests, "PersistentVolumeClaim")
    for name in (WEB, WORKER):
        container = only_container(manifests, "Deployment", name)
        secret = decoded(named(manifests, "Secret", secret_ref(container, "AWS_ACCESS_KEY_ID")["name"]))
        assert secret["AWS_ACCESS_KEY_ID"] == given["secrets"]["s3AccessKeyId"]
        assert secret["AWS_SECRET_ACCESS_KEY"] == given["secrets"]["s3SecretAccessKey"]
        assert secret_ref(container, "AWS_SECRET_ACCESS_KEY")["key"] == "AWS_SECRET_ACCESS_KEY"


# --- configuration ---------------------------------------------------------------------------------------

_SETTING = re.compile(r"""(?:_env\w*|os\.environ\.get)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
# Where a cluster differs from the README's laptop defaults, on purpose.
_CLUSTER_DEFAULTS = {
    "LANTERN_DATA_DIR": "/var/lib/lantern",  # an emptyDir (or the uploads volume) in the pod
    "HOST": "0.0.0.0",  # noqa: S104 - the pod must accept the Service's traffic
    "LANTERN_PUBLIC_URL": "http://127.0.0.1:8000",  # derived from the Ingress when there is one
}
_SECRET_SETTINGS = {
    "DATABASE_URL",
    "DATABASE_OWNER_URL",
    "REDIS_URL",
    "LANTERN_SECRET_KEY",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
}


def app_settings() -> set[str]:
    """Every environment variable app/settings.py reads."""
    names = set(_SETTING.findall((ROOT / "app" / "settings.py").read_text()))
    assert {"DATABASE_URL", "LANTERN_SECRET_KEY", "SMTP_HOST"} <= names, "app/settings.py changed shape"
    return names


def readme_defaults() -> dict[str, str]:
    """The README's configuration table: variable -> default ("" where it says unset)."""
    defaults = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        row = re.match(r"^\| `([A-Z][A-Z0-9_]*)` \| (.*?) \|", line)
        if row:
            literal = re.match(r"`([^`]*)`", row.group(2))
            defaults[row.group(1)] = literal.group(1) if literal else ""
    return defaults


def test_configmap_holds_every_setting_with_the_readmes_defaults(rendered: dict[str, Manifests]) -> None:
    (config,) = of_kind(rendered["default"], "ConfigMap")
    data = config["data"]
    assert set(data) == app_settings() - _SECRET_SETTINGS
    readme = readme_defaults()
    undocumented = set(data) - set(readme) - set(_CLUSTER_DEFAULTS)
    assert not undocumented, f"no row in the README's configuration table for {sorted(undocumented)}"
    expected = {name: _CLUSTER_DEFAULTS.get(name, readme[name]) for name in data}
    assert data == expected


@pytest.mark.parametrize("workload", [WEB, WORKER])
def test_every_setting_the_app_reads_reaches_the_pods(rendered: dict[str, Manifests], workload: str) -> None:
    manifests = rendered["default"]
    (config,) = of_kind(manifests, "ConfigMap")
    container = only_container(manifests, "Deployment", workload)
    assert [source["configMapRef"]["name"] for source in container["envFrom"]] == [config["metadata"]["name"]]
    reaching = set(config["data"]) | set(env_of(container))
    assert app_settings() - {"DATABASE_OWNER_URL"} <= reaching


@pytest.mark.parametrize(("grace_seconds", "stop_seconds"), [(120, "115"), (3, "1"), (10805, "10800")])
def test_the_workers_running_jobs_finish_within_its_pods_grace_period(
    helm: Helm, grace_seconds: int, stop_seconds: str
) -> None:
    """A worker told to stop let its running jobs finish for 25 s whatever the pod's grace period: one raised for
    long jobs (an export) gained them nothing. Its wait now follows the grace period, with 5 s left for its stop
    (the default's 30 s: the README's 25, as the test of the ConfigMap's defaults checks)."""
    grace = f"worker.terminationGracePeriodSeconds={grace_seconds}"
    result = helm.template("--values", values_file("default"), "--set", grace)
    assert result.returncode == 0, result.stderr
    manifests = [document for document in yaml.safe_load_all(result.stdout) if document]
    (config,) = of_kind(manifests, "ConfigMap")
    assert named(manifests, "Deployment", WORKER)["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == (
        grace_seconds
    )
    assert config["data"]["LANTERN_WORKER_STOP_SECONDS"] == stop_seconds
    # What the pods read it as: a grace period for a 3-hour export rendered a value the app refused, and both
    # Deployments, which share the ConfigMap, stopped at start.
    with environment(LANTERN_WORKER_STOP_SECONDS=stop_seconds):
        assert get_settings().worker_stop_seconds == int(stop_seconds)


# --- probes and entry points -------------------------------------------------------------------------------


def cli_commands(help_text: str) -> set[str]:
    """The commands listed by `python -m app.cli --help`."""
    _, _, listing = help_text.partition("Commands:")
    commands = {match.group(1) for match in re.finditer(r"^  ([a-z][a-z0-9-]*)\s", listing, re.MULTILINE)}
    assert commands, help_text
    return commands


def test_web_probes_call_the_apps_health_routes(rendered: dict[str, Manifests], app_facts: AppFacts) -> None:
    manifests = rendered["default"]
    container = only_container(manifests, "Deployment", WEB)
    liveness = container["livenessProbe"]["httpGet"]
    readiness = container["readinessProbe"]["httpGet"]
    assert liveness["path"] == "/health"
    assert readiness["path"] == "/health/ready"
    assert {liveness["path"], readiness["path"]} <= app_facts.routes
    # The probes, the Service and granian (PORT) all mean the same port.
    (port,) = container["ports"]
    assert liveness["port"] == readiness["port"] == port["name"] == "http"
    (config,) = of_kind(manifests, "ConfigMap")
    assert str(port["containerPort"]) == config["data"]["PORT"]
    (service,) = of_kind(manifests, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_worker_liveness_probe_checks_the_arq_worker_settings(
    rendered: dict[str, Manifests], app_facts: AppFacts
) -> None:
    container = only_container(rendered["default"], "Deployment", WORKER)
    probe = container["livenessProbe"]
    assert probe["exec"]["command"] == ["arq", "--check", "workers.main.WorkerSettings"]
    assert (ROOT / "workers" / "main.py").is_file()
    # arq refreshes the health-check key every health_check_interval seconds (its TTL is one second more):
    # a live worker has always refreshed it within one probe period.
    assert app_facts.worker_health_check_interval < probe["periodSeconds"]
    assert probe["timeoutSeconds"] >= 5, "importing the worker settings takes seconds"


async def _run_probe(command: list[str]) -> int:
    """An exec probe's command as the image runs it: the virtualenv's bin first on PATH, the app's
    environment (the suite's Redis), the application directory as the working directory."""
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode


async def _until_health_recorded(worker: Worker) -> None:
    """The worker writes its health-check key on its first poll of the queue, right after it starts."""
    for _ in range(400):
        if worker.pool is not None and await worker.pool.exists(worker.health_check_key):
            return
        await asyncio.sleep(0.05)
    pytest.fail("the worker never recorded its health")


async def test_worker_liveness_probe_passes_while_the_worker_runs_and_fails_once_it_is_gone(
    rendered: dict[str, Manifests], app: Any
) -> None:
    """The probe's own command, run against a real arq worker of workers.main on the suite's Redis."""
    assert app is not None  # the suite's database and Redis, which the worker uses
    command = only_container(rendered["default"], "Deployment", WORKER)["livenessProbe"]["exec"]["command"]
    async with running_worker() as worker:
        await _until_health_recorded(worker)
        assert await _run_probe(command) == 0
    # A stopped worker deletes its key, as a dead one's expires (health_check_interval + 1 s): the probe fails.
    assert await _run_probe(command) == 1


def test_workloads_run_the_clis_commands(rendered: dict[str, Manifests], app_facts: AppFacts) -> None:
    commands = cli_commands(app_facts.cli_help)
    for kind, name, command in (
        ("Deployment", WEB, "serve"),
        ("Deployment", WORKER, "worker"),
        ("Job", MIGRATE, "migrate"),
    ):
        argv = only_container(rendered["default"], kind, name)["command"]
        assert argv[:3] == CLI
        assert argv[3] == command
        assert command in commands
        options = [argument for argument in argv[4:] if argument.startswith("--")]
        assert set(options) <= set(app_facts.command_options[command])
    web = only_container(rendered["default"], "Deployment", WEB)["command"]
    assert web[4:] == ["--workers", "2"]


# --- security --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_pods_run_as_non_root_on_a_read_only_root_filesystem(rendered: dict[str, Manifests], value_set: str) -> None:
    templates = pod_templates(rendered[value_set])
    assert set(templates) == {WEB, WORKER, MIGRATE}
    (config,) = of_kind(rendered[value_set], "ConfigMap")
    data_dir = config["data"]["LANTERN_DATA_DIR"]
    for name, template in templates.items():
        pod = template["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["runAsNonRoot"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            assert container["resources"]["requests"], name
            assert container["resources"]["limits"]["memory"], name
            # The only writable places: /tmp and the data directory, each an emptyDir.
            mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
            for path in ("/tmp", data_dir):  # noqa: S108 - the pod's own emptyDir
                assert "emptyDir" in volumes[mounts[path]], (name, path)


def test_uploads_volume_is_shared_by_web_and_worker(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["ingress-tls"]
    (claim,) = of_kind(manifests, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in (WEB, WORKER):
        pod = pod_templates(manifests)[name]["spec"]
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        (container,) = pod["containers"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        uploads = volumes[mounts["/var/lib/lantern/uploads"]]
        assert uploads["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]


# --- values: the schema, required settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad_values", "complaint"),
    [
        ('replicaCount: "two"', "replicaCount: Invalid type. Expected: integer, given: string"),
        ("replicaCount: 0", "replicaCount: Must be greater than or equal to 1"),
        ("worker:\n  replicaCount: 1.5", "worker.replicaCount: Invalid type. Expected: integer"),
        ('web:\n  workers: "4"', "web.workers: Invalid type. Expected: integer"),
        ("config:\n  signup: maybe", "config.signup"),
        ("config:\n  storage: gcs", 'config.storage must be one of the following: "local", "s3"'),
        ("config:\n  storage: s3", "config.s3.bucket: String length must be greater than or equal to 1"),
        ("config:\n  s3:\n    endpointUrl: minio:9000", "config.s3.endpointUrl: Does not match pattern"),
        ("replicaCont: 2", "Additional property replicaCont is not allowed"),
        # Past the 3 hours an export may take, a stop time the app refuses (LANTERN_WORKER_STOP_SECONDS).
        ("worker:\n  terminationGracePeriodSeconds: 10806", "worker.terminationGracePeriodSeconds: Must be less"),
        ("securityContext:\n  runAsNonRoot: false", "securityContext.runAsNonRoot"),
        ("secrets:\n  databaseUrl: postgresql://lantern@db/lantern", "secrets.databaseUrl: Does not match pattern"),
    ],
)
def test_invalid_values_fail_before_anything_is_installed(
    helm: Helm, tmp_path: Path, bad_values: str, complaint: str
) -> None:
    bad = tmp_path / "bad-values.yaml"
    bad.write_text(bad_values + "\n")
    result = helm.template("--values", values_file("default"), "--values", bad)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr
    assert complaint in result.stderr


def test_install_without_connection_settings_names_what_is_missing(helm: Helm) -> None:
    result = helm.template()
    assert result.returncode != 0
    assert "secrets.databaseUrl (DATABASE_URL" in result.stderr


def test_operators_who_migrate_themselves_give_the_chart_no_owner_url(helm: Helm, tmp_path: Path) -> None:
    given = values("default")
    del given["secrets"]["databaseOwnerUrl"]
    given["migrations"] = {"enabled": False}
    without_owner = tmp_path / "values.yaml"
    without_owner.write_text(yaml.safe_dump(given))
    result = helm.template("--values", without_owner)
    assert result.returncode == 0, result.stderr
    manifests = [document for document in yaml.safe_load_all(result.stdout) if document]
    assert not of_kind(manifests, "Job")
    assert "DATABASE_OWNER_URL" not in result.stdout
    # With the chart's migrations on, the owner URL is required.
    given["migrations"]["enabled"] = True
    without_owner.write_text(yaml.safe_dump(given))
    result = helm.template("--values", without_owner)
    assert result.returncode != 0
    assert "secrets.databaseOwnerUrl (DATABASE_OWNER_URL" in result.stderr


# --- scaling, disruption, traffic ------------------------------------------------------------------------


def test_autoscalers_own_the_replica_counts_when_on(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["default"]
    targets = {hpa["spec"]["scaleTargetRef"]["name"] for hpa in of_kind(manifests, "HorizontalPodAutoscaler")}
    assert targets == {WEB, WORKER}
    for hpa in of_kind(manifests, "HorizontalPodAutoscaler"):
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    for deployment in of_kind(manifests, "Deployment"):
        assert "replicas" not in deployment["spec"], "the HPA sets the count; a fixed one would fight it"
        # HPA utilisation targets are relative to the requests.
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["resources"]["requests"]["cpu"]


def test_fixed_replica_counts_when_autoscaling_is_off(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["no-autoscaling"]
    given = values("no-autoscaling")
    assert named(manifests, "Deployment", WEB)["spec"]["replicas"] == given["replicaCount"]
    assert named(manifests, "Deployment", WORKER)["spec"]["replicas"] == given["worker"]["replicaCount"]
    assert only_container(manifests, "Deployment", WEB)["command"][-2:] == ["--workers", str(given["web"]["workers"])]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_service_and_disruption_budgets_select_the_right_pods(rendered: dict[str, Manifests], value_set: str) -> None:
    manifests = rendered[value_set]
    labels = {name: template["metadata"]["labels"] for name, template in pod_templates(manifests).items()}

    def selects(selector: dict[str, str]) -> set[str]:
        return {name for name, pod in labels.items() if selector.items() <= pod.items()}

    (service,) = of_kind(manifests, "Service")
    assert selects(service["spec"]["selector"]) == {WEB}
    for budget in of_kind(manifests, "PodDisruptionBudget"):
        assert selects(budget["spec"]["selector"]["matchLabels"]) == {budget["metadata"]["name"]}
        assert ("minAvailable" in budget["spec"]) != ("maxUnavailable" in budget["spec"])


def test_ingress_serves_the_web_service_over_tls(rendered: dict[str, Manifests]) -> None:
    manifests = rendered["ingress-tls"]
    (ingress,) = of_kind(manifests, "Ingress")
    (service,) = of_kind(manifests, "Service")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert ingress["spec"]["tls"] == [{"hosts": ["bugs.example.com"], "secretName": "lantern-tls"}]
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == "bugs.example.com"
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service["metadata"]["name"], "port": {"name": service["spec"]["ports"][0]["name"]}}
    (config,) = of_kind(manifests, "ConfigMap")
    assert config["data"]["LANTERN_PUBLIC_URL"] == "https://bugs.example.com"
    assert config["data"]["LANTERN_SIGNUP"] == "closed"
    # Behind the ingress controller, client addresses come from its forwarding headers.
    assert config["data"]["LANTERN_TRUSTED_PROXIES"] == "10.0.0.0/8,fd00::/8"


# --- NOTES.txt -------------------------------------------------------------------------------------------


def render_notes(helm: Helm, chart: Path, value_set: str) -> str:
    result = helm.template(
        "--values", values_file(value_set), "--show-only", "templates/zz-rendered-notes.yaml", chart=chart
    )
    assert result.returncode == 0, result.stderr
    notes: str = yaml.safe_load(result.stdout)["data"]["NOTES.txt"]
    return notes


@pytest.mark.parametrize("value_set", ["default", "ingress-tls"])
def test_notes_tell_how_to_reach_lantern_and_create_the_first_admin(
    helm: Helm, notes_chart: Path, rendered: dict[str, Manifests], app_facts: AppFacts, value_set: str
) -> None:
    notes = render_notes(helm, notes_chart, value_set)
    if value_set == "ingress-tls":
        assert "https://bugs.example.com/" in notes
    else:
        (service,) = of_kind(rendered[value_set], "Service")
        assert f"kubectl port-forward --namespace bugs service/{service['metadata']['name']} 8000:80" in notes

    (line,) = [line for line in notes.replace("\\\n", " ").splitlines() if "app.cli create-admin" in line]
    words = shlex.split(line.strip())
    assert words[:3] == ["kubectl", "exec", "-it"], "create-admin asks for the password: it needs a terminal"
    assert f"deploy/{WEB}" in words
    command = words[words.index("--") + 1 :]
    assert command[:4] == [*CLI, "create-admin"]
    assert "create-admin" in cli_commands(app_facts.cli_help)
    options = {word for word in command[4:] if word.startswith("--")}
    assert {"--email", "--organization"} <= options <= set(app_facts.command_options["create-admin"])


def test_notes_warn_about_uploads_in_an_empty_dir_only_when_they_are_there(helm: Helm, notes_chart: Path) -> None:
    warning = "Uploaded screenshots and attachments\nare kept in an emptyDir"
    assert warning in render_notes(helm, notes_chart, "default")
    for value_set in ("s3-storage", "no-autoscaling"):  # a bucket; a shared volume
        assert warning not in render_notes(helm, notes_chart, value_set)
