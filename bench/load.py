"""Load from a second process: wrk (C, two threads) drives 64 keep-alive connections at one endpoint.

wrk's Lua hooks send the same body on every request, count 5xx answers apart from other non-2xx ones, and
print one JSON line with throughput and latency percentiles, which `hammer` returns.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bench import cpu

CONNECTIONS = 64
THREADS = 2

SCRIPT = """
wrk.method = "POST"
wrk.body = io.open(os.getenv("BENCH_BODY_FILE"), "rb"):read("*a")
%(headers)s
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) server_errors = 0; other_errors = 0 end
function response(status, headers, body)
  if status >= 500 then server_errors = server_errors + 1
  elseif status >= 300 then other_errors = other_errors + 1 end
end
function done(summary, latency, requests)
  local s, o = 0, 0
  for _, t in ipairs(threads) do s = s + t:get("server_errors"); o = o + t:get("other_errors") end
  io.write(string.format(
    '{"requests": %%d, "seconds": %%.3f, "p50_ms": %%.3f, "p90_ms": %%.3f, "p99_ms": %%.3f, "max_ms": %%.3f, ' ..
    '"server_errors": %%d, "other_non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, s, o,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        msg = "wrk is not installed: `apt-get install -y wrk` (make bench does this on Debian)"
        raise RuntimeError(msg)
    return path


def hammer(url: str, body: bytes, headers: Mapping[str, str], seconds: int) -> dict[str, Any]:
    """POST `body` to `url` for `seconds` on 64 connections; requests/s, latency percentiles, error counts,
    and the CPU each kind of process spent per request (bench/cpu.py)."""
    with tempfile.TemporaryDirectory(prefix="lantern-wrk-") as folder:
        body_file, script = Path(folder) / "body", Path(folder) / "post.lua"
        body_file.write_bytes(body)
        lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
        script.write_text(SCRIPT % {"headers": lines})
        command = [wrk(), f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script)]
        with cpu.metered() as spent:
            finished = subprocess.run(  # noqa: S603 - our own arguments
                [*command, url],
                capture_output=True,
                text=True,
                check=True,
                env={"BENCH_BODY_FILE": str(body_file), "PATH": "/usr/bin:/bin"},
            )
    result: dict[str, Any] = json.loads(finished.stdout.strip().splitlines()[-1])
    result["requests_per_second"] = result["requests"] / result["seconds"]
    result["cpu_ms_per_request"] = {kind: 1000 * used / max(1, result["requests"]) for kind, used in spent.items()}
    return result


def burst(base_url: str, path: str, body: bytes, keys: list[str], total: int) -> dict[str, float]:
    """POST exactly `total` copies of `body`, split evenly over the keys, all at once: one ApacheBench
    (`ab`, which sends an exact count) per key, together holding about 64 keep-alive connections."""
    ab = shutil.which("ab")
    if ab is None:
        msg = "ab is not installed: `apt-get install -y apache2-utils` (make bench does this on Debian)"
        raise RuntimeError(msg)
    per_key = total // len(keys)
    concurrency = max(1, CONNECTIONS // len(keys))
    with tempfile.TemporaryDirectory(prefix="lantern-ab-") as folder:
        body_file = Path(folder) / "body"
        body_file.write_bytes(body)
        runs = [
            subprocess.Popen(  # noqa: S603 - our own arguments
                [ab, "-q", "-k", "-n", str(per_key), "-c", str(concurrency), "-p", str(body_file),
                 "-T", "application/json", "-H", f"X-Api-Key: {key}", base_url + path],
                stdout=subprocess.PIPE,
                text=True,
            )
            for key in keys
        ]  # fmt: skip
        outputs = [run.communicate()[0] for run in runs]
    # ab also counts answers whose length differs from the first as "failed": only the status counts here.
    failed = sum(_ab_count(output, "Non-2xx responses:") for output in outputs)
    return {"submitted": per_key * len(keys), "refused": failed}


def _ab_count(output: str, label: str) -> int:
    line = next((line for line in output.splitlines() if line.startswith(label)), "")
    return int(line.split(":", 1)[1].split()[0]) if line else 0
