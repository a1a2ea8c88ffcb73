"""docs/BENCHMARKS.md from one run's results (bench/results/latest.json): figures, ratios, targets."""

from __future__ import annotations

from typing import Any

# The targets of the benchmarks issue.
INGEST_RATIO = 1.0
PNG_RATIO = 0.25
INGEST_P99_MS = 50
TRACKING_P99_MS = 1000

TUNING = """\
## What was tuned, and why

- **Group commit** (`app/domain/reports/group_commit.py`). One durable commit per request caps ingest at
  what the database's log flush allows. Concurrent submissions now share one transaction: a request hands
  its rows to the process's writer and gets its `201` only after the transaction holding them committed
  (nothing is acknowledged before it is durable). While one batch commits the next gathers, so batches
  grow with load and cost nothing when idle. A failing batch is retried request by request, so one bad
  submission cannot fail the others; each tenant's rows are written under that tenant's scope (row-level
  security checks every statement).
- **One numbering job per project per batch**, not one per report: a 10,000-report burst enqueued
  10,000 jobs that mostly found nothing to do.
- **Numbering in one statement**: the worker numbers a batch with one `UPDATE … FROM (row_number() …)`
  instead of loading every report and updating it row by row.
- **Ingest takes no numbering lock**: ingest used to hold the project's numbering lock until its commit
  and the worker took it exclusively, so under a flood to one project the two took turns (280 submissions/s
  with numbering, 850 without). Each report now records the transaction that stored it (`stored_xid`);
  numbering follows it and takes only reports whose transactions have all ended (below the snapshot's
  oldest running transaction), which keeps numbers gapless and in stored order with no lock on ingest.
- **No database session for a submission**: the request's own session (opened, committed and closed
  for every request by the SQLAlchemy plugin) went unused, since reports are written by the group
  commit, and credential resolution opened one even when the identity came from its cache. Ingest now
  runs without either: in-process CPU per submission fell from 1.04 to 0.56 ms.
- **Image processing yields the CPU**: the worker decodes and re-encodes screenshots on threads at nice
  +10, so during a flood of uploads the web process, PostgreSQL and numbering get the CPU first, and the
  processing backlog drains afterwards (PNG submissions 181 → 273 per second on two cores).
- **Widget keys and organization tokens cached for 5 s** per process (`LANTERN_CREDENTIAL_CACHE_SECONDS`):
  resolving one took two or three transactions per request (a token also wrote `last_used_at` every
  time). A change to a project, key, token or organization empties the process's cache at once.
- **No tracking wait under a flood**: the bounded wait for the tracking ID (500 ms) is for a person
  reading the answer; while more than 4 submissions are in flight in a process, answers come at once with
  `trackingId: null` and the report is numbered moments later.
- **Guards are coroutines**: Litestar ran each plain-function guard in a worker thread, on every request.
- **Search narrows to the tenant inside its index**: the bigram GIN index now leads with
  `organization_id` (btree_gin). A common word used to match thousands of other tenants' rows, each read
  and dropped: "checkout" at 1,000,000 reports went from p95 150 ms to about 50 ms, 結帳 from 125 to 26 ms.
- **Row-level security reads the tenant once per statement**: the policies called `lantern_tenant()`
  directly, and PostgreSQL evaluated it (a setting read and a text-to-uuid cast) again for every row they
  filtered: counting a tenant's 210,000 reports took 79 ms. As scalar subqueries, `(SELECT
  lantern_tenant())`, they are evaluated once per statement: 23 ms (migration 0006). Every query over
  many of a tenant's rows gained: the whole-tenant count, the count by status, search.
- **The severity index includes the status**: the native list counts its matches, and a count by status
  and severity read a table page for every report of that severity (38.7 ms at 100,000 reports); with the
  status in the index it reads the index alone (1.9 ms, migration 0007).
- **Search asks the index for a term's two rarest bigrams**: intersecting every bigram of the term made
  the index walk the posting lists of common pairs ("ch", "ec": in a third to a half of all reports) for
  each candidate. Every other bigram and the last (which still cover each character) took "checkout" from
  22.6 to 8.3 ms in the index lookup; the two rarest alone, by a table of how common each bigram is among
  the newest 10,000 reports (`search_gram_share`, counted by the worker every hour, migration 0008), take
  it to 2.2 ms (6.7 ms before, alternating calls), and the whole search statement from about 16 to 11 ms.
  The exact ILIKE recheck keeps every answer the same.
- **Counts are `count(*)`**: `count(id)` had to read the id of every matching entry, so a whole-tenant
  count walked the (organization_id, created_at, id) index; `count(*)` reads the smallest index on
  organization_id alone: 10.7 → 7.3 ms in the database for a tenant of 100,000 reports.
- **Numbering passes in one transaction**: a numbering job took its snapshot's horizon, numbered a batch
  and checked for held-back reports in three transactions; one now holds all three (a third of the round
  trips of a flood's many short passes).
- **A numbering pass is two statements**: the lock (which also reads where the pass began), then one
  `WITH` that numbers the batch, moves the project's counter and checks for held-back reports; a pass used
  to be five statements, each a round trip (worker CPU per submission under a flood about 10 % lower).
- **Numbering statements are built once**: every numbering pass built its statements afresh, and
  SQLAlchemy walked each whole statement for its cache key before finding it compiled; they are now made
  once per process with bound parameters. Worker CPU per numbered report under a JSON flood: 0.296 →
  0.236 ms (medians of three alternating runs).
- **A pooled connection is tried in one round trip**: SQLAlchemy's pre-ping on asyncpg opens a
  transaction, runs its statement and rolls back as it hands out a connection; one statement outside any
  transaction now does the same work (`app/lib/database.py`). A transaction of one statement, drawn from
  the pool and committed: 0.92 → 0.70 ms on this machine (0.57 ms with no ping at all, which would hand a
  request a connection a restarted PostgreSQL had dropped), measured apart from the run above.
- **Concurrent credential misses share one lookup**: when a key's cached identity expired under a
  flood, every request in flight (64 here) looked it up at once and queued on the connection pool every
  5 s; now the first miss loads it and the others wait for that load.
- **Limiter checks share a pipeline**: the checks of all the requests that reach the limiter in one
  event-loop turn go to Redis in one round trip, each still its own atomic script with its own answer.
  With 64 checks in flight each costs about a third of the CPU it did (0.21 to 0.31 ms before, 0.07 to
  0.09 ms after, on this machine). A check alone in its turn, as when traffic is light, goes without
  the pipeline's bookkeeping: 0.087 → 0.080 ms of CPU one at a time (medians of five alternating runs).
- **A batch is one bulk insert**: the group commit inserted its reports through a unit-of-work flush
  (per-object bookkeeping and events, a differently sized statement per batch); it now runs one bulk
  insert of the rows and stamps the defaults, tenant and search bigrams on each report itself (about 8 %
  less CPU per submission in-process).
- **A job is one script call, and a turn's jobs share a pipeline** (`app/lib/queue.py`): arq's
  `enqueue_job` takes three round trips (WATCH, EXISTS, MULTI/EXEC) and holds a connection for each job
  it writes; a Lua script now writes the same keys in arq's own format in one call, and the enqueues of
  one event-loop turn go to Redis together. A group commit wakes all its requests in one turn, so the
  screenshot jobs of a batch of uploads are one round trip: PNG submissions 207-213 → 334-381 per second
  in alternating runs (server CPU per upload 4.1 → 2.2-2.7 ms, Redis 0.26 → 0.06 ms).
- **Lists read what they show**: every report read loaded its search bigrams (a few hundred strings each,
  which only the database reads); a JSON:API list whose sparse fieldset leaves out screenshots and GitHub
  issues queried both anyway, and read each report's description, page context, logs and marks, often tens
  of kilobytes each; the UI's table and board read those too, and show none of them. None of it is read now
  unless it is shown: `include_sparse` sends five statements instead of seven, and reads no log. The run
  before this change was on a slower day (validate-only ceiling 7,198 requests/s against 12,712 in the
  run above), so the two runs' latencies do not compare: four triage queries were then over 20 ms at p95
  (`include_sparse` 25.2 ms, `search_latin` 24.1), none is in the run above (at most 16.0 ms).
- **Tried and not kept** (measured no better on this machine): coalescing a project's numbering jobs in
  the worker process, and a Redis mark that queues one numbering job per project at a time instead of
  one per stored batch (about 12 % fewer jobs, no change in throughput); a faster JSON encoder for the
  access log (8 µs per line of about 2 ms per request); two granian workers (the same requests/s with
  smaller batches: more CPU per submission in every process); granian's Rust task implementation (the
  app stopped answering); no connection ping at checkout at all (a gain within the noise of a run; the ping is
  what replaces the connections a restarted PostgreSQL dropped, now in one round trip instead of three);
  a bulk insert of a batch's screenshot rows like its reports' (PNG submissions within the noise of
  alternating runs: the unit of work costs little beside a 250 KB upload); two or three batches
  committing at once instead of one (the writer is not the bottleneck: JSON submissions 1,610 → 1,226-1,268
  per second, with more CPU per submission in every process, from smaller batches and more numbering
  jobs); image threads at `SCHED_IDLE` instead of nice +10 (no change); an upload's file written on the
  event loop instead of a thread (PNG submissions 479 → 513-517 per second in alternating runs, but one
  slow disk or network mount would then stall every request of the process); search keys qualified by their
  tenant (each bigram behind its organization's id, in a GIN index on that expression): the index lookup
  for "checkout" at 1,000,000 reports fell from 7.2 to 1.9 ms, but every key became a small posting list
  of its own, so each stored report rewrote about 66 of them: inserting 20,000 reports spread over 1,000
  tenants took 9.4-12.7 s instead of 1.8 s (one tenant's: +20 %), with an index of 448 MB instead of 121.
  Keys qualified by one of 16 tenant buckets instead were a middle way that paid for neither: lookup
  about 4 ms, those inserts about 2.7 s.
- **`gc.freeze()` after start-up** and a larger first generation (`app/lib/runtime.py`): full collections
  over the start-up heap were the p99 spikes. The ceilings get the same setting, so the ratios compare
  like with like.
"""


def _ms(value: float) -> str:
    return f"{value:,.1f}"


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _ingest(result: dict[str, Any]) -> list[str]:
    rows = [
        ("Ceiling: bare Litestar, validate only", result["ceiling_validate"]),
        ("Ceiling: validate + one raw asyncpg insert", result["ceiling_insert"]),
        ("Lantern widget submit (JSON)", result["submit_json"]),
        (
            f"Lantern widget submit + {result['submit_png']['png_bytes'] // 1024} KB PNG (multipart)",
            result["submit_png"],
        ),
    ]
    ratios = result["ratios"]
    submit = result["submit_json"]
    png_met = ratios["png_vs_insert"] >= PNG_RATIO
    lines = [
        "## Ingest",
        "",
        (
            f"{result['connections']} connections, {result['seconds']} s per endpoint (wrk, 2 threads),"
            " BugPin's example body,"
            " granian with one worker for all, limiter on (high limit), the arq worker numbering every report."
            " Each server is warmed up for 2 s, then the database analyzed (as autovacuum does on a live one)."
        ),
        "",
        "| endpoint | req/s | p50 ms | p99 ms | 5xx | other non-2xx |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {name} | {_rate(r['requests_per_second'])} | {_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} "
        f"| {r['server_errors']} | {r['other_non_2xx']} |"
        for name, r in rows
    ]
    lines += [
        "",
        "| ratio | value | target |",
        "| --- | ---: | --- |",
        (
            f"| submit / raw insert | {ratios['submit_vs_insert']:.2f} | ≥ 1.0 (floor 0.8): "
            f"{_verdict(ratios['submit_vs_insert'] >= INGEST_RATIO)} |"
        ),
        f"| submit / validate only | {ratios['submit_vs_validate']:.2f} | — |",
        f"| PNG submit / raw insert | {ratios['png_vs_insert']:.2f} | ≥ 0.25: {_verdict(png_met)} |",
        f"| submit p99 | {_ms(submit['p99_ms'])} ms | ≤ 50 ms: {_verdict(submit['p99_ms'] <= INGEST_P99_MS)} |",
        f"| submit 5xx | {submit['server_errors']} | 0: {_verdict(submit['server_errors'] == 0)} |",
        "",
        *_cpu(rows),
        *_ingest_gap(result["ceiling_insert"], submit),
        *_backlog(result["submit_png"]),
    ]
    return lines


CPU_COLUMNS = (("server", "server"), ("worker", "arq worker"), ("postgresql", "PostgreSQL"), ("redis", "Redis"))


def _cpu(rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """CPU per request by kind of process: what each request costs the machine, which bounds its rate."""
    measured = [(name, r["cpu_ms_per_request"]) for name, r in rows if "cpu_ms_per_request" in r]
    if not measured:
        return []
    header = " | ".join(title for _kind, title in CPU_COLUMNS)
    lines = [
        (
            "CPU per request, in ms, by kind of process (every process of the kind, from /proc; wrk apart). On"
            " a machine whose cores are all busy, requests/s is about the cores' time over a request's total:"
        ),
        "",
        f"| endpoint | {header} | total | wrk |",
        "| --- |" + " ---: |" * (len(CPU_COLUMNS) + 2),
    ]
    for name, spent in measured:
        cells = " | ".join(f"{spent[kind]:.3f}" for kind, _title in CPU_COLUMNS)
        total = sum(spent[kind] for kind, _title in CPU_COLUMNS)
        lines.append(f"| {name} | {cells} | {total:.3f} | {spent['load']:.3f} |")
    return [*lines, ""]


def _ingest_gap(ceiling: dict[str, Any], submit: dict[str, Any]) -> list[str]:
    """Where the JSON submit's distance to the raw-insert ceiling lies, from this run's CPU figures."""
    if "cpu_ms_per_request" not in ceiling or "cpu_ms_per_request" not in submit:
        return []
    ceiling_total = sum(ceiling["cpu_ms_per_request"][kind] for kind, _title in CPU_COLUMNS)
    spent = submit["cpu_ms_per_request"]
    beside = sum(spent[kind] for kind in ("worker", "postgresql", "redis"))
    return [
        (
            f"Why the submit stays below the raw-insert ceiling: a submission costs the machine"
            f" {spent['server'] + beside:.3f} ms of CPU, the ceiling's request {ceiling_total:.3f} ms. The work"
            f" outside the web process alone (numbering in the worker, PostgreSQL, Redis) is {beside:.3f} ms,"
            f" {beside / ceiling_total:.0%} of the ceiling's whole request; the web process (limiter, tenant"
            f" resolution, CORS, validation, group commit, the answer) spends {spent['server']:.3f} ms on its one"
            f" event loop, where the ceiling's validates and inserts in {ceiling['cpu_ms_per_request']['server']:.3f}"
            " ms."
        ),
        "",
    ]


def _backlog(png: dict[str, Any]) -> list[str]:
    backlog = png.get("backlog")
    if backlog is None:
        return []
    statuses = backlog["statuses"]
    drained = not statuses.get("pending")
    outcome = ", ".join(f"{count:,} {status}" for status, count in sorted(statuses.items()))
    return [
        (
            f"The PNG run's screenshots are processed by the worker afterwards (its image threads run at low"
            f" CPU priority, so ingest keeps the CPU during the flood): the backlog "
            f"{'drained' if drained else '**had not drained**'} {backlog['seconds']:.0f} s after the run"
            f" ({outcome})."
        ),
        "",
    ]


def _tracking(result: dict[str, Any]) -> list[str]:
    return [
        "## Tracking IDs under a burst",
        "",
        (
            f"{result['reports']:,} submissions at once to {result['projects']} projects of {result['projects']}"
            " organizations"
            f" (one ApacheBench per project, about {result['connections']} connections in all). Time per report"
            " from its storing (created_at) to the worker stamping its number (updated_at)."
        ),
        "",
        "| figure | value | target |",
        "| --- | ---: | --- |",
        f"| refused (non-2xx) | {result['refused']} | 0 |",
        f"| p50 stored → ID | {_ms(result['stored_to_id_p50_ms'])} ms | — |",
        (
            f"| p99 stored → ID | {_ms(result['stored_to_id_p99_ms'])} ms | ≤ 1,000 ms: "
            f"{_verdict(result['stored_to_id_p99_ms'] <= TRACKING_P99_MS)} |"
        ),
        f"| all submitted after | {result['submitted_seconds']:.1f} s | — |",
        f"| all numbered after | {result['all_numbered_seconds']:.1f} s | — |",
        f"| numbered | {result['numbered']:,} of {result['reports']:,} | all |",
        f"| gapless, in stored order | {'yes' if result['gapless_in_order'] else 'NO'} | yes |",
        "",
    ]


def _triage(result: dict[str, Any]) -> list[str]:
    lines = ["## Triage at scale", ""]
    for database, measured in result.items():
        if not isinstance(measured, dict):
            continue
        sizes = ", ".join(f"{name.replace('_', ' ')}: {value:,}" for name, value in measured["sizes"].items())
        lines += [
            f"### {database}",
            "",
            (
                f"{sizes}; bulk load {measured['load_seconds']:.1f} s. Server-side latency (`Server-Timing`),"
                f" sequential requests with an organization token; target p95 ≤ {measured['target_p95_ms']} ms"
                " (on PostgreSQL)."
            ),
            "",
            "| query | p50 ms | p95 ms | target |",
            "| --- | ---: | ---: | --- |",
        ]
        lines += [
            f"| {q['name']} (`{q['url']}`) | {_ms(q['server_p50_ms'])} | {_ms(q['server_p95_ms'])} "
            f"| {_verdict(q['meets_target'])} |"
            for q in measured["queries"]
        ]
        lines.append("")
    return lines


def _limiter(result: dict[str, Any]) -> list[str]:
    target = result["target_cpu_ms_per_check"]
    return [
        "## Rate limiter",
        "",
        (
            f"CPU per check (target ≤ {result['target_cpu_ms_per_check']} ms), one at a time:"
            f" {result['cpu_ms_per_check']:.4f} ms ({_verdict(result['cpu_ms_per_check'] <= target)}); with 64 in"
            f" flight, as under load (the checks of one event-loop turn share a pipeline):"
            f" {result['cpu_ms_per_check_64_in_flight']:.4f} ms"
            f" ({_verdict(result['cpu_ms_per_check_64_in_flight'] <= target)})."
            f" An in-process endpoint with a check per request, called one request at a time, runs at"
            f" {result['limited_to_bare_ratio']:.2f}x the same endpoint without."
        ),
        "",
    ]


def _screenshots(result: dict[str, Any]) -> list[str]:
    lines = [
        "## Screenshot processing",
        "",
        f"{result['image']} images, per core (process CPU time): the whole job's image work against a bare decode.",
        "",
        "| format | processed / s | decoded / s | ratio |",
        "| --- | ---: | ---: | ---: |",
    ]
    for name in ("png", "jpeg"):
        r = result[name]
        lines.append(
            f"| {name} | {r['processed_per_s_per_core']} | {r['decoded_per_s_per_core']}"
            f" | {r['decode_over_process_ratio']} |"
        )
    return [*lines, ""]


def markdown(results: dict[str, Any]) -> str:
    machine = results["machine"]
    packages = ", ".join(f"{name} {version}" for name, version in machine["packages"].items())
    lines = [
        "# Lantern benchmarks",
        "",
        (
            "Written by `make bench` (bench/__main__.py) from one run; the raw figures are in"
            " `bench/results/latest.json`. Every ratio compares endpoints measured in the same run on the same server"
            " settings. Load comes from the same machine, so the server shares its cores with the load generator,"
            " PostgreSQL, Redis and the worker. Absolute figures (latencies, requests per second) follow the"
            " machine: between two runs, compare the ratios, or scale by the validate-only ceiling, the plainest"
            " measure here of how fast this machine runs Python."
        ),
        "",
        f"- Date: {results['date']}",
        (
            f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB,"
            f" Linux {machine['kernel']}"
        ),
        f"- Python {machine['python']}, PostgreSQL {machine['postgresql']}; {packages}",
        "",
    ]
    sections = {
        "ingest": _ingest,
        "tracking": _tracking,
        "triage": _triage,
        "limiter": _limiter,
        "screenshots": _screenshots,
    }
    for name, section in sections.items():
        if name in results:
            lines += section(results[name])
    return "\n".join(lines) + "\n" + TUNING
