"""The Redis that `make run` and the suite start themselves: reached by Lantern's user alone.

It listened on 127.0.0.1 with no password and CONFIG on: any user of the machine could read the sessions (and
sign in as anyone) and make it write files as Lantern's user, whatever the data directory's 0700.
"""

from __future__ import annotations

import stat
from pathlib import Path

import psutil
import pytest
from redis import Redis
from redis.exceptions import ResponseError

from app.lib.embedded_redis import ADMIN_COMMANDS, MAX_SOCKET_PATH_BYTES, EmbeddedRedis


def _reached_by_its_owner_alone(server: EmbeddedRedis) -> None:
    """No TCP port, and a socket in a directory that only its owner can enter."""
    assert server.process is not None
    listening = psutil.Process(server.process.pid).net_connections(kind="inet")
    assert listening == [], listening  # no TCP port, on any address
    socket_mode = server.socket_path.stat().st_mode
    assert stat.S_ISSOCK(socket_mode)
    assert stat.S_IMODE(socket_mode) & 0o077 == 0
    assert stat.S_IMODE(server.socket_path.parent.stat().st_mode) == 0o700


def _refuses_admin_commands(client: Redis) -> None:
    for command in ADMIN_COMMANDS:
        with pytest.raises(ResponseError, match="unknown command"):
            client.execute_command(command, "HELP")


def test_the_embedded_redis_answers_its_owner_alone_and_refuses_config(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "redis", persistent=True)
    try:
        with Redis.from_url(server.start()) as client:
            client.set("lantern:session:x", b"{}")
            assert client.get("lantern:session:x") == b"{}"
            _refuses_admin_commands(client)
        _reached_by_its_owner_alone(server)
        assert server.socket_path.parent == (tmp_path / "redis").absolute()
    finally:
        server.stop()


def test_a_data_directory_too_deep_for_a_socket_gets_a_private_one_elsewhere(tmp_path: Path) -> None:
    """A socket's address holds about 107 bytes: a data directory deeper than that could not start Redis."""
    deep = tmp_path.joinpath(*["nested-folder"] * 10, "redis")
    assert len(bytes(deep / "redis.sock")) > MAX_SOCKET_PATH_BYTES
    server = EmbeddedRedis(deep, persistent=True)
    try:
        with Redis.from_url(server.start()) as client:
            client.set("kept", b"1")
            assert client.get("kept") == b"1"
        _reached_by_its_owner_alone(server)
        assert list(deep.iterdir())  # its append-only file stays in the data directory
    finally:
        server.stop()
