"""The Dockerfile, checked without a Docker engine: what it copies exists and reaches the build context, it
installs from the lock file, runs as a numeric non-root user, and starts the CLI's real commands."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.deploy.conftest import ROOT, AppFacts
from tests.deploy.test_chart import cli_commands


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == keyword]


def parse_dockerfile(path: Path) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, argument = line.partition(" ")
        instruction, argument = instruction.upper(), argument.strip()
        if instruction == "FROM":
            base, _, name = re.sub(r"\s+AS\s+", " AS ", argument, flags=re.IGNORECASE).partition(" AS ")
            for key, value in arguments.items():
                base = base.replace(f"${{{key}}}", value)
            stages.append(Stage(name.strip(), base.strip()))
        elif not stages and instruction == "ARG":
            key, _, value = argument.partition("=")
            arguments[key] = value
        elif stages:
            stages[-1].instructions.append((instruction, argument))
    return arguments, stages


def copy_sources(argument: str) -> tuple[list[str], bool]:
    """The sources of a COPY, and whether they come from another stage (--from)."""
    words = shlex.split(argument)
    flags = [word for word in words if word.startswith("--")]
    paths = [word for word in words if not word.startswith("--")]
    return paths[:-1], any(flag.startswith("--from=") for flag in flags)


def _pattern(glob: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Go's filepath.Match reads it: `*` stays within a path segment, `**` does not."""
    regex, index = "", 0
    while index < len(glob):
        if glob.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif glob[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif glob[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(glob[index]), index + 1
    return re.compile(regex + r"\Z")


def excluded_by_dockerignore(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins; `!` re-includes."""
    parts = path.strip("/").split("/")
    prefixes = ["/".join(parts[: count + 1]) for count in range(len(parts))]
    excluded = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        regex = _pattern(pattern.removeprefix("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            excluded = not negated
    return excluded


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse_dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def dockerignore() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_builder_installs_the_locked_dependencies_with_a_pinned_uv(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    assert len(stages) >= 2, "multi-stage: a builder and a runtime"
    builder = stages[0]
    copied = [source for argument in builder.all("COPY") for source in copy_sources(argument)[0]]
    assert "uv.lock" in copied
    assert "pyproject.toml" in copied
    runs = " ; ".join(builder.all("RUN"))
    assert "uv sync --frozen --no-dev" in runs
    assert "pybabel compile -d locales -D messages" in runs
    # The same uv as the Makefile's, so the image resolves the lock file exactly as `make install` does.
    pinned = dict(argument.partition("=")[::2] for argument in builder.all("ARG"))
    makefile_uv = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert makefile_uv
    assert pinned["UV_VERSION"] == makefile_uv.group(1)
    assert '"uv==${UV_VERSION}"' in runs


def test_everything_it_copies_exists_and_is_in_the_build_context(
    dockerfile: tuple[dict[str, str], list[Stage]], dockerignore: list[str]
) -> None:
    _, stages = dockerfile
    sources = [
        source
        for stage in stages
        for argument in stage.all("COPY")
        if not copy_sources(argument)[1]
        for source in copy_sources(argument)[0]
    ]
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert not excluded_by_dockerignore(source, dockerignore), f"{source} is left out by .dockerignore"
    assert not excluded_by_dockerignore("app/domain/reports/services.py", dockerignore)
    for left_out in (".venv", ".tools", ".git", ".lantern", "tests", "app/__pycache__/cli.cpython-312.pyc"):
        assert excluded_by_dockerignore(left_out, dockerignore), left_out
    # Compiled catalogs are build output: the builder compiles its own from the .po files.
    assert excluded_by_dockerignore("locales/de/LC_MESSAGES/messages.mo", dockerignore)
    assert not excluded_by_dockerignore("locales/de/LC_MESSAGES/messages.po", dockerignore)


def test_runtime_stage_carries_the_venv_the_app_and_the_compiled_catalogs(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    _, stages = dockerfile
    builder, runtime = stages[0], stages[-1]
    assert runtime.base == builder.base, "the venv's interpreter path must exist in the runtime image"
    # Each source of the runtime stage's COPYs, named relative to /app, and whether it came from the builder.
    destinations = {}
    for argument in runtime.all("COPY"):
        sources, from_stage = copy_sources(argument)
        for source in sources:
            name = source.strip("/")
            destinations[name.removeprefix("app/") if from_stage else name] = from_stage
    for package in ("app", "tenants", "workers", "migrations", "alembic.ini"):
        assert destinations.get(package) is False, f"{package} is copied from the build context"
    # The builder compiled the .mo files next to the .po files: locales come from there.
    assert destinations.get(".venv") is True
    assert destinations.get("locales") is True
    environment = " ".join(runtime.all("ENV"))
    assert "PATH=/app/.venv/bin:$PATH" in environment
    assert runtime.all("WORKDIR") == ["/app"], "arq --check imports workers.main from the working directory"


def test_runs_as_a_numeric_non_root_user_matching_the_chart(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    _, stages = dockerfile
    (user,) = stages[-1].all("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "numeric, so that Kubernetes can verify runAsNonRoot"
    assert int(uid) > 0
    assert not gid or int(gid) > 0
    chart_values = (ROOT / "charts" / "lantern" / "values.yaml").read_text()
    assert f"runAsUser: {uid}" in chart_values


def test_entry_points_are_the_clis_commands(
    dockerfile: tuple[dict[str, str], list[Stage]], app_facts: AppFacts
) -> None:
    _, stages = dockerfile
    commands = cli_commands(app_facts.cli_help)
    assert {"serve", "worker", "migrate", "create-admin"} <= commands
    (cmd,) = stages[-1].all("CMD")
    assert cmd == '["python", "-m", "app.cli", "serve"]'
    assert not stages[-1].all("ENTRYPOINT"), "the chart replaces the command: no entrypoint in between"
    # The README's production commands are the same commands.
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"python -m app\.cli ([a-z][a-z0-9-]*)", readme))
    assert {"serve", "worker", "migrate", "create-admin"} <= documented
    assert documented <= commands


def test_python_of_the_image_satisfies_the_project(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    arguments, stages = dockerfile
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    version = re.match(r"python:(3\.\d+)", stages[-1].base)
    assert version, stages[-1].base
    minor = int(version.group(1).split(".")[1])
    lower = re.search(r">=3\.(\d+)", project["requires-python"])
    upper = re.search(r"<3\.(\d+)", project["requires-python"])
    assert lower
    assert upper
    assert int(lower.group(1)) <= minor < int(upper.group(1))
    assert "PYTHON_IMAGE" in arguments
