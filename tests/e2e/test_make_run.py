"""The first of the two commands: `make run` (`python -m app.cli run`) on a machine with nothing configured.

It must migrate, seed the demo organization and print its login, serve on 127.0.0.1:$PORT with a worker
and an embedded Redis, accept that login, and on SIGTERM stop every process it started.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from redis import Redis
from redis.exceptions import ResponseError

from tests.e2e.lantern_cli import (
    CLI,
    ROOT,
    DemoLogin,
    clean_env,
    command_line,
    descendants,
    parse_demo_login,
    run_cli,
    spawned,
    sqlite_rows,
)
from tests.support.server import free_port

READY_WITHIN_SECONDS = 60
STOPPED_WITHIN_SECONDS = 30
WORKER = "-m workers"  # the arq worker's command line (app/cli.py `_worker_args`)


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, output: Path) -> None:
    """Poll /health and /health/ready until both answer 200; fail early if the process dies."""
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    last = "no answer yet"
    while time.monotonic() < deadline:
        exited = process.poll()
        assert exited is None, f"`app.cli run` exited with {exited} before it was ready:\n{output.read_text()}"
        try:
            statuses = [httpx.get(f"{base_url}{path}", timeout=2).status_code for path in ("/health", "/health/ready")]
        except httpx.TransportError as error:
            last = repr(error)
        else:
            if statuses == [200, 200]:
                return
            last = f"/health, /health/ready answered {statuses}"
        time.sleep(0.25)
    msg = f"not ready within {READY_WITHIN_SECONDS} s ({last}):\n{output.read_text()}"
    raise AssertionError(msg)


def _log_in(base_url: str, demo: DemoLogin) -> None:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        login = client.post("/api/v1/auth/login", json={"email": demo.email, "password": demo.password})
        assert login.status_code == 200, login.text
        me = client.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["data"]["user"]["email"] == demo.email
        projects = client.get("/api/v1/projects")
        assert projects.status_code == 200, projects.text
        [project] = [project for project in projects.json()["data"] if project["apiKey"] == demo.widget_key]
        assert project["siteUrl"] == base_url  # the page it serves, on whatever port it was given
        _see_the_demo_reports(client)


def _see_the_demo_reports(client: httpx.Client) -> None:
    """The demo's first reports are listed, numbered, and the worker processes the checkout's screenshot."""
    listed = client.get("/api/v1/reports").json()["data"]
    assert [item["trackingId"] for item in listed["items"]] == ["DEMO-4", "DEMO-3", "DEMO-2", "DEMO-1"]
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        [screenshot] = client.get("/api/v1/reports/DEMO-4").json()["data"]["screenshots"]
        if screenshot["status"] != "pending":
            break
        time.sleep(0.25)
    assert (screenshot["status"], screenshot["width"], screenshot["height"]) == ("ready", 1280, 800)
    assert client.get(screenshot["thumbnailUrl"]).headers["content-type"] == "image/webp"


def _every_log_line_is_json(printed: str) -> None:
    """After the demo's three lines, the web server's, the app's and the worker's logs are one format, JSON
    objects (granian's and arq's own lines were plain text), without the periodic sweeps' routine lines."""
    logged = printed.splitlines()[3:]
    for line in logged:
        assert line.startswith("{"), f"a log line that is not JSON: {line!r}"
    records = [json.loads(line) for line in logged]
    by_logger = {record.get("logger", "app") for record in records}
    assert {"_granian", "arq.worker", "app"} <= by_logger, by_logger
    requests = {(record["method"], record["path"]) for record in records if record.get("event") == "request"}
    assert ("HEAD", "/health") in requests, requests  # routed as a GET, logged as what was sent
    jobs = [record["event"] for record in records if record.get("logger") == "arq.worker"]
    assert any("process_screenshot" in job for job in jobs), jobs  # the demo's screenshot
    assert not [job for job in jobs if "→ cron:" in job or "← cron:" in job], jobs


def _port_is_closed(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


@dataclass(frozen=True)
class Run:
    """`make run` serving a data directory of the test's own on a free port."""

    process: subprocess.Popen[bytes]
    data_dir: Path
    port: int
    env: dict[str, str]
    output: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[Run]:
    """`make run` started, and ready (its /health and /health/ready answer), until the block ends."""
    data_dir, port = tmp_path / "lantern-data", free_port()
    env = clean_env(data_dir, PORT=str(port), LANTERN_DEV="1")
    output = tmp_path / "make-run.log"
    with spawned([*CLI, "run"], env=env, output=output) as process:
        run = Run(process, data_dir, port, env, output)
        _wait_until_ready(process, run.base_url, output)
        yield run


def test_make_run_serves_the_demo_and_stops_cleanly(tmp_path: Path) -> None:
    with serving(tmp_path) as run:
        printed = run.output.read_text()
        demo = parse_demo_login(printed)
        _log_in(run.base_url, demo)
        assert httpx.head(f"{run.base_url}/health").status_code == 200

        children = descendants(run.process)
        started = "\n".join(command_line(child) for child in children)
        for expected in ("granian", WORKER, "redis-server"):
            assert expected in started, f"no {expected} process among the children:\n{started}"
        _redis_is_private(run, children)

        # Twice, as `kill` of `make run`'s process group sends it: to `run`, and to make, which passes it on.
        run.process.send_signal(signal.SIGTERM)
        run.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOPPED_WITHIN_SECONDS
        exit_status = run.process.wait(timeout=STOPPED_WITHIN_SECONDS)
        _gone, alive = psutil.wait_procs(children, timeout=max(0.1, deadline - time.monotonic()))
        assert not alive, f"still running {STOPPED_WITHIN_SECONDS} s after SIGTERM: {[command_line(p) for p in alive]}"
        assert exit_status == 0, run.output.read_text()
        assert _port_is_closed(run.port)

    _every_log_line_is_json(run.output.read_text())
    database = run.data_dir / "lantern.db"
    assert database.is_file(), f"no SQLite database in {run.data_dir}: {sorted(p.name for p in run.data_dir.iterdir())}"
    assert sqlite_rows(database, "SELECT email FROM user_account") == [(demo.email,)]


def _redis_is_private(run: Run, children: list[psutil.Process]) -> None:
    """The embedded Redis listened on 127.0.0.1 with no password: any user of the machine could read the
    sessions and, with CONFIG, write files as Lantern's user. It listens on a socket in the data directory only,
    and CONFIG is off."""
    [redis] = [child for child in children if "redis-server" in command_line(child)]
    assert redis.net_connections(kind="inet") == []
    folder = run.data_dir / "redis"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    with Redis(unix_socket_path=str(folder / "redis.sock")) as client:
        assert client.keys("lantern:session:*")  # the demo's login's session, there for its owner alone
        with pytest.raises(ResponseError, match="unknown command"):
            client.config_get("dir")


def _replaced(process: subprocess.Popen[bytes], dead: psutil.Process, kind: str) -> psutil.Process | None:
    """The child of `kind` (a word of its command line) that took the dead one's place, once there is one."""
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    while time.monotonic() < deadline:
        found = [child for child in descendants(process) if kind in command_line(child) and child.pid != dead.pid]
        if found:
            return found[0]
        time.sleep(0.25)
    return None


def test_make_run_starts_a_dead_child_again_runs_once_per_data_directory_and_dies_whole(tmp_path: Path) -> None:
    """A worker or Redis killed took the whole service down, silently and with status 0; a second `run` on the
    same data directory served beside the first; a `run` killed left its servers answering."""
    with serving(tmp_path) as run:
        for kind in (WORKER, "redis-server"):
            [dead] = [child for child in descendants(run.process) if kind in command_line(child)]
            dead.kill()
            assert _replaced(run.process, dead, kind) is not None, f"no new {kind}:\n{run.output.read_text()}"
        _wait_until_ready(run.process, run.base_url, run.output)
        assert run.output.read_text().count("stopped unexpectedly") == 2

        second = subprocess.run(  # noqa: S603 - our own interpreter and module
            [*CLI, "run"], cwd=ROOT, env=run.env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode != 0
        assert "Another Lantern is already running with the data directory" in second.stderr

        children = descendants(run.process)
        run.process.kill()  # not even SIGTERM: the children go with it all the same
        _gone, alive = psutil.wait_procs(children, timeout=STOPPED_WITHIN_SECONDS)
        assert not alive, [command_line(child) for child in alive]
        assert _port_is_closed(run.port)


def test_make_killed_takes_run_and_everything_it_started_with_it(tmp_path: Path) -> None:
    """`make run` killed with SIGKILL left `run` (and its web server, worker and Redis) serving without a parent,
    and the next `make run` on the data directory stopped at once: another Lantern was running."""
    data_dir, port = tmp_path / "lantern-data", free_port()
    env = clean_env(data_dir, PORT=str(port), LANTERN_DEV="1")
    output = tmp_path / "make-run.log"
    # A shell in make's place: `run` is its child, not a program it became (`; exit` keeps it from exec'ing `run`).
    with spawned(["sh", "-c", '"$@"; exit $?', "make", *CLI, "run"], env=env, output=output) as make:
        _wait_until_ready(make, f"http://127.0.0.1:{port}", output)
        started = descendants(make)
        assert any(" run" in command_line(child) for child in started), [command_line(c) for c in started]
        make.kill()
        _gone, alive = psutil.wait_procs(started, timeout=STOPPED_WITHIN_SECONDS)
        assert not alive, [command_line(child) for child in alive]
        assert _port_is_closed(port)


def _granian_main(run: Run) -> psutil.Process:
    [server] = [child for child in psutil.Process(run.process.pid).children() if "granian" in command_line(child)]
    return server


def test_a_killed_web_server_leaves_no_web_worker_behind(tmp_path: Path) -> None:
    """granian killed with SIGKILL left its web worker orphaned, listening on the port beside the restarted
    server, and outliving `make run`."""
    with serving(tmp_path) as run:
        server = _granian_main(run)
        workers = server.children()
        assert workers, f"granian has no worker process: {command_line(server)}"
        server.kill()
        _gone, alive = psutil.wait_procs(workers, timeout=5)
        assert not alive, f"granian's workers outlived it: {[child.pid for child in alive]}"
        assert _replaced(run.process, server, "granian") is not None, run.output.read_text()
        _wait_until_ready(run.process, run.base_url, run.output)


def _answers_ping(socket_path: Path) -> bool:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(1)
            connection.connect(str(socket_path))
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def test_stopping_make_run_stops_redis_after_the_worker(tmp_path: Path) -> None:
    """SIGTERM stopped the embedded Redis at the moment it stopped the worker, whose running jobs then met
    connection errors. A worker held still (SIGSTOP) stands for one finishing a long job."""
    with serving(tmp_path) as run:
        [worker] = [child for child in descendants(run.process) if WORKER in command_line(child)]
        [redis] = [child for child in descendants(run.process) if "redis-server" in command_line(child)]
        redis_socket = Path(re.findall(r"unixsocket:(\S+)", command_line(redis))[0])  # its title, once started
        worker.suspend()
        run.process.send_signal(signal.SIGTERM)
        time.sleep(1.5)
        still_answering = _answers_ping(redis_socket)
        worker.resume()  # it takes the SIGTERM waiting for it, and stops
        assert run.process.wait(timeout=STOPPED_WITHIN_SECONDS) == 0, run.output.read_text()
        assert still_answering, "Redis stopped while the worker was still running"
        assert not _answers_ping(redis_socket)


@contextlib.contextmanager
def _listening(port: int, *, reuse_port: bool) -> Iterator[None]:
    """Another program on the port: http.server's socket (SO_REUSEADDR), or granian's (SO_REUSEPORT too)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        yield


def _refused(args: list[str], env: dict[str, str], output: Path) -> str:
    """What `args` printed, once it stopped (within a few seconds) with an error."""
    with spawned(args, env=env, output=output) as process:
        exit_status = process.wait(timeout=STOPPED_WITHIN_SECONDS)
    printed = output.read_text()
    assert exit_status == 1, printed
    assert "Traceback" not in printed
    return printed


@pytest.mark.parametrize("reuse_port", [False, True], ids=["another-program", "another-lantern"])
def test_run_and_serve_on_a_taken_port_stop_at_once_naming_it(tmp_path: Path, reuse_port: bool) -> None:
    """A second `make run` on the same port served beside the first (granian binds with SO_REUSEPORT), each
    answering from its own database; a port another program held gave five crash loops that never named it."""
    data_dir, port = tmp_path / "lantern-data", free_port()
    env = clean_env(data_dir, PORT=str(port), LANG="en_US.UTF-8")
    with _listening(port, reuse_port=reuse_port):
        printed = _refused([*CLI, "run"], env, tmp_path / "run.log")
        serve_env = env | {"REDIS_URL": "redis://127.0.0.1:1/0"}
        served = _refused([*CLI, "serve"], serve_env, tmp_path / "serve.log")
    said = f"127.0.0.1:{port} is in use already"
    assert said in printed
    assert said in served
    assert not (data_dir / "redis").exists(), "the embedded Redis started before the port was checked"
    assert not (data_dir / "lantern.db").exists(), "the database was migrated before the port was checked"


def test_the_data_directory_is_readable_by_its_owner_alone(tmp_path: Path) -> None:
    """It was made 0755: the database's password hashes and webhook secrets, and Redis's file of sessions,
    were readable by every local user. An existing one is closed, with a line that says so."""
    fresh = tmp_path / "fresh"
    run_cli("migrate", env=clean_env(fresh))
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700

    opened, port = tmp_path / "opened", free_port()
    opened.mkdir(mode=0o755)
    opened.chmod(0o755)
    env = clean_env(opened, PORT=str(port), LANG="en_US.UTF-8")
    with _listening(port, reuse_port=False):  # `run` stops once the directory is closed: no need to serve
        printed = _refused([*CLI, "run"], env, tmp_path / "run.log")
    assert f"The data directory {opened} was open to other users; now only its owner can read it." in printed
    assert stat.S_IMODE(opened.stat().st_mode) == 0o700


def test_run_on_a_redis_it_cannot_reach_says_so_in_one_line(tmp_path: Path) -> None:
    """It was a 92-line traceback from the demo's seeding."""
    env = clean_env(tmp_path / "lantern-data", PORT=str(free_port()), REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    printed = _refused([*CLI, "run"], env | {"LANG": "en_US.UTF-8"}, tmp_path / "run.log")
    assert "REDIS_URL cannot be reached" in printed
    assert len(printed.strip().splitlines()) == 1, printed
