"""Triage at scale: the report list's queries (filters, sorts, deep cursors, search, includes, counts) timed
on a database holding a million reports, as a busy multi-tenant installation would.

The organization queried holds 100,000 reports in 10 projects; 999 others share 900,000 more, inserted in
created order so each tenant's rows lie scattered over the table as they would after a year of traffic. Titles
and descriptions come from multilingual bug titles (English, Spanish, German, Chinese, Japanese) built so each
searched word is as rare as a real one. The queried organization, its projects and its API token are made by
the app's own services; the rest is bulk SQL as the owner (row-level security does not apply to it), filling
every derived column the way the app does (`search_text` and `search_grams` from `search`, tracking numbers
1..N per project with the counter at N); SQLite's FTS triggers fire by themselves. Then the database is
analyzed, as autovacuum does, and the worker's job counts how common each search bigram is, as it does at its
start and every hour.

Latency is the server's own (`Server-Timing: app;dur=`), p50 and p95 of sequential requests after warm-up,
with the client's p50 beside it. SQLite runs the same queries at a tenth of the size.

Size knobs: BENCH_TRIAGE_REPORTS, BENCH_TRIAGE_ORGANIZATIONS, BENCH_TRIAGE_FOCUS_REPORTS (PostgreSQL),
BENCH_TRIAGE_SQLITE_REPORTS, BENCH_TRIAGE_SQLITE_ORGANIZATIONS, BENCH_TRIAGE_SQLITE_FOCUS_REPORTS,
BENCH_TRIAGE_REQUESTS, BENCH_TRIAGE_WARMUP, BENCH_TRIAGE_DEEP_PAGES, BENCH_TRIAGE_DATABASES (`postgresql,sqlite`).
"""

# ruff: noqa: RUF001 - the Chinese and Japanese bug texts use full-width punctuation, as their writers do.
from __future__ import annotations

import asyncio
import json
import math
import os
import random
import secrets
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import asyncpg
import httpx
import msgspec
from sqlalchemy import insert, select, text
from sqlalchemy.engine import make_url

from app.domain.organizations.models import Membership, Organization
from app.domain.projects.models import Project as ProjectRow
from app.domain.projects.models import ProjectKey, ProjectPrefix
from app.domain.projects.schemas import WidgetConfig
from app.domain.reports.models import ProjectCounter, Report
from app.domain.reports.search import report_bigrams, report_search_text
from app.domain.tokens.services import TokenService
from app.lib.database import alchemy_config, make_alchemy_config
from app.lib.security import WIDGET_KEY_PREFIX
from bench.stack import Environment, Project, seed_projects, serve
from tenants.context import tenant_scope
from tenants.db import scoped
from workers.jobs import refresh_search_gram_shares

PORT = 8103
DATABASE = "lantern_bench_triage"
TARGET_P95_MS = 20.0
FOCUS_PROJECTS = 10
# Share of the queried organization's reports in each of its projects: a few busy sites, a tail of quiet ones.
FOCUS_PROJECT_WEIGHTS = (25, 18, 14, 10, 9, 7, 6, 5, 3, 3)
PG_CHUNK = 50_000
INDEX_MEMORY = "1GB"
SQLITE_CHUNK = 10_000
SPAN = timedelta(days=365)
SEED = 8

# How often each value occurs, in percent.
STATUSES = {"new": 30, "backlog": 15, "todo": 15, "doing": 10, "done": 20, "closed": 10}
STATUS_IDS = {"new": None, "backlog": 0, "todo": 1, "doing": 2, "done": 4, "closed": 5}
SEVERITIES = {"critical": 10, "high": 25, "medium": 45, "low": 20}
PRIORITIES = {"highest": 5, "high": 20, "medium": 50, "low": 20, "lowest": 5}
CATEGORIES = {"bug": 55, "ui": 20, "performance": 10, "crash": 5, "other": 10}
SOURCES = {"widget": 80, "api": 20}
TAGS = {"[]": 70, '["mobile"]': 10, '["regression"]': 8, '["ui", "mobile"]': 7, '["customer"]': 5}
PAGES = ("/", "/products", "/account", "/search?q=shoes", "/orders/1042", "/settings/profile", "/help")
METADATA = tuple(
    json.dumps({"browser": {"name": browser, "version": version}, "os": system, "viewport": {"width": w, "height": h}})
    for browser, version, system, w, h in (
        ("Chrome", "131", "Windows 11", 1920, 1080),
        ("Safari", "18.1", "iOS 18", 390, 844),
        ("Firefox", "133", "Ubuntu", 1440, 900),
        ("Edge", "131", "Windows 10", 1366, 768),
    )
)
# Share of the queried organization's reports assigned to its owner.
ASSIGNED_SHARE = 0.3
CONSOLE_LOGS = (
    "[]",
    "[]",
    '[{"level": "error", "message": "Uncaught TypeError: Cannot read properties of undefined (reading \'id\')"}]',
    '[{"level": "warn", "message": "Slow network detected"}, {"level": "error", "message": "HTTP 500 /api/orders"}]',
)

# The searched words and the share of reports holding each; no other text of the vocabulary contains them.
LATIN_TERM, BIGRAM_TERM, TRIGRAM_TERM = "checkout", "結帳", "購物車"
TERM_SHARES = {LATIN_TERM: 0.01, BIGRAM_TERM: 0.005, TRIGRAM_TERM: 0.005}
VARIANTS = 20_000


# Text ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Language:
    subjects: tuple[str, ...]
    problems: tuple[str, ...]
    places: tuple[str, ...]
    title: str  # "{subject}", "{problem}", "{place}"
    description: str  # the same, plus "{step}", "{expected}"
    steps: tuple[str, ...]
    expectations: tuple[str, ...]


LANGUAGES: dict[str, Language] = {
    "en": Language(
        subjects=(
            "Login button", "Search results", "Profile page", "Payment form", "Dashboard chart", "Settings menu",
            "Image upload", "Notification badge", "Language switcher", "Order history", "Date picker",
            "Password reset email", "Product gallery", "Sign-up form", "Invoice PDF", "Dark mode toggle",
        ),
        problems=(
            "does not respond", "shows the wrong total", "crashes the app", "overlaps the footer", "is misaligned",
            "loads very slowly", "returns a 500 error", "freezes after the update", "shows raw HTML",
            "ignores the selected language", "flickers on scroll", "is cut off",
        ),
        places=("on Safari 18", "on Chrome for Android", "on iPhone 15", "in Firefox", "on Edge", "on iPad", ""),
        title="{subject} {problem} {place}",
        description=(
            "Steps to reproduce: {step}. The {subject} {problem} {place}. Expected: {expected}. "
            "Happens every time since yesterday's release."
        ),
        steps=("open the page and scroll down", "log in as a customer", "switch to mobile view", "refresh twice"),
        expectations=("it works as before", "the page stays readable", "no error is shown", "a quick response"),
    ),
    "es": Language(
        subjects=(
            "Botón de inicio de sesión", "Resultados de búsqueda", "Página de perfil", "Formulario de pago",
            "Menú de ajustes", "Subida de imágenes", "Historial de pedidos", "Selector de fecha",
        ),
        problems=(
            "no responde", "muestra un total incorrecto", "se bloquea", "se superpone al pie de página",
            "está desalineado", "carga muy lento", "devuelve un error 500",
        ),
        places=("en Safari", "en Android", "en el iPhone", "en Firefox", ""),
        title="{subject} {problem} {place}",
        description="Pasos: {step}. {subject} {problem} {place}. Esperado: {expected}.",
        steps=("abrir la página y bajar", "iniciar sesión como cliente", "cambiar a la vista móvil"),
        expectations=("que funcione como antes", "que no aparezca ningún error"),
    ),
    "de": Language(
        subjects=(
            "Anmeldeknopf", "Suchergebnisse", "Profilseite", "Zahlungsformular", "Einstellungsmenü",
            "Bild-Upload", "Bestellverlauf", "Datumsauswahl",
        ),
        problems=(
            "reagiert nicht", "zeigt eine falsche Summe", "stürzt ab", "überlappt die Fußzeile",
            "ist verschoben", "lädt sehr langsam", "liefert Fehler 500",
        ),
        places=("unter Safari", "auf Android", "auf dem iPhone", "in Firefox", ""),
        title="{subject} {problem} {place}",
        description="Schritte: {step}. {subject} {problem} {place}. Erwartet: {expected}.",
        steps=("Seite öffnen und scrollen", "als Kunde anmelden", "in die mobile Ansicht wechseln"),
        expectations=("dass es wie vorher funktioniert", "keine Fehlermeldung"),
    ),
    "zh-Hant": Language(
        subjects=("登入按鈕", "搜尋結果", "個人資料頁面", "付款表單", "設定選單", "圖片上傳", "訂單紀錄", "日期選擇器"),
        problems=("沒有反應", "顯示錯誤的總額", "當機", "與頁尾重疊", "位置跑掉", "載入很慢", "回傳 500 錯誤"),
        places=("在 Safari 上", "在 Android 手機上", "在 iPhone 上", ""),
        title="{subject}{problem}{place}",
        description="重現步驟：{step}。{subject}{problem}{place}。預期：{expected}。",
        steps=("打開頁面並往下捲動", "以顧客身分登入", "切換到手機版"),
        expectations=("和以前一樣正常運作", "不要出現錯誤訊息"),
    ),
    "zh-Hans": Language(
        subjects=("登录按钮", "搜索结果", "个人资料页面", "付款表单", "设置菜单", "图片上传", "订单记录", "日期选择器"),
        problems=("没有反应", "显示错误的总额", "崩溃", "与页脚重叠", "位置错乱", "加载很慢", "返回 500 错误"),
        places=("在 Safari 上", "在安卓手机上", "在 iPhone 上", ""),
        title="{subject}{problem}{place}",
        description="复现步骤：{step}。{subject}{problem}{place}。预期：{expected}。",
        steps=("打开页面并向下滚动", "以顾客身份登录", "切换到手机版"),
        expectations=("和以前一样正常工作", "不要出现错误信息"),
    ),
    "ja": Language(
        subjects=(
            "ログインボタン", "検索結果", "プロフィールページ", "支払いフォーム", "設定メニュー", "画像アップロード",
            "注文履歴", "日付ピッカー",
        ),
        problems=("が反応しない", "の合計が間違っている", "でアプリが落ちる", "がフッターと重なる", "の表示が遅い"),
        places=("（Safari）", "（Android）", "（iPhone）", ""),
        title="{subject}{problem}{place}",
        description="再現手順：{step}。{subject}{problem}{place}。期待：{expected}。",
        steps=("ページを開いて下にスクロール", "顧客としてログイン", "モバイル表示に切り替え"),
        expectations=("以前と同じように動くこと", "エラーが出ないこと"),
    ),
}  # fmt: skip
LANGUAGE_SHARES = {"en": 40, "es": 15, "de": 15, "zh-Hant": 10, "zh-Hans": 10, "ja": 10}
# Subjects holding a searched word, in the languages that write it.
TERM_SUBJECTS: dict[str, dict[str, tuple[str, ...]]] = {
    LATIN_TERM: {
        "en": ("Checkout button", "Checkout page", "Guest checkout", "Express checkout"),
        "es": ("Botón de checkout", "Página de checkout"),
        "de": ("Checkout-Seite", "Checkout-Knopf"),
    },
    BIGRAM_TERM: {"zh-Hant": ("結帳按鈕", "結帳頁面", "結帳流程")},
    TRIGRAM_TERM: {"zh-Hant": ("購物車圖示", "購物車頁面", "購物車數量")},
}


def _weighted(shares: dict[str, int]) -> list[str]:
    """Each value repeated by its share: a uniform pick from the list follows the shares."""
    return [value for value, share in shares.items() for _ in range(share)]


def text_variants(count: int, rng: random.Random) -> list[tuple[str, str]]:
    """(title, description) pairs; each searched word in its share of them, placed at random."""
    languages = _weighted(LANGUAGE_SHARES)
    topics: list[str | None] = [None] * count
    slots = iter(rng.sample(range(count), count))
    for term, share in TERM_SHARES.items():
        for _ in range(round(count * share)):
            topics[next(slots)] = term
    variants = []
    for topic in topics:
        if topic is None:
            language = LANGUAGES[rng.choice(languages)]
            subject = rng.choice(language.subjects)
        else:
            code = rng.choice(sorted(TERM_SUBJECTS[topic]))
            language, subject = LANGUAGES[code], rng.choice(TERM_SUBJECTS[topic][code])
        words = {
            "subject": subject,
            "problem": rng.choice(language.problems),
            "place": rng.choice(language.places),
            "step": rng.choice(language.steps),
            "expected": rng.choice(language.expectations),
        }
        title = language.title.format(**words).strip()
        variants.append((title, language.description.format(**words).replace("  ", " ")))
    return variants


# The plan: who holds how many reports -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sizes:
    reports: int
    organizations: int
    focus_reports: int

    def describe(self) -> dict[str, int]:
        return {
            "reports": self.reports,
            "organizations": self.organizations,
            "queried_organization_reports": self.focus_reports,
            "queried_organization_projects": FOCUS_PROJECTS,
        }


@dataclass(frozen=True, slots=True)
class PlannedProject:
    organization_id: uuid.UUID
    project_id: uuid.UUID
    prefix: str
    reports: int
    assignee: uuid.UUID | None = None


@dataclass(slots=True)
class Plan:
    """Every project's report count; reports are made in created order, chunk by chunk of the year."""

    projects: list[PlannedProject]
    chunks: int
    start: datetime
    organizations: list[dict[str, Any]] = field(default_factory=list)
    new_projects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(project.reports for project in self.projects)

    def segments(self, chunk: int) -> Iterator[tuple[PlannedProject, int, int]]:
        """(project, first number, last number) of the reports created in this chunk's slice of the year."""
        for project in self.projects:
            first = project.reports * chunk // self.chunks + 1
            last = project.reports * (chunk + 1) // self.chunks
            if first <= last:
                yield project, first, last


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` in parts proportional to `weights`, summing exactly to `total`."""
    parts = [math.floor(total * weight / sum(weights)) for weight in weights]
    for index in range(total - sum(parts)):
        parts[index % len(parts)] += 1
    return parts


def _letters(index: int) -> str:
    """A tracking prefix for the index-th project of an organization: AA, AB, ..."""
    return "P" + chr(ord("A") + index // 26) + chr(ord("A") + index % 26)


def plan(sizes: Sizes, focus: list[Project], assignee: uuid.UUID, chunk_rows: int) -> Plan:
    rng = random.Random(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    start = now - SPAN
    counts = _split(sizes.focus_reports, FOCUS_PROJECT_WEIGHTS)
    projects = [
        PlannedProject(uuid.UUID(p.organization_id), uuid.UUID(p.project_id), p.prefix, count, assignee)
        for p, count in zip(focus, counts, strict=True)
    ]
    others = sizes.organizations - 1
    # Organization sizes vary over two orders of magnitude, like real customers.
    per_organization = _split(sizes.reports - sizes.focus_reports, [rng.lognormvariate(0, 1) for _ in range(others)])
    organizations: list[dict[str, Any]] = []
    new_projects: list[dict[str, Any]] = []
    for index, reports in enumerate(per_organization):
        organization_id = uuid7_at(start - timedelta(days=rng.uniform(1, 400)))
        organizations.append({"id": organization_id, "name": f"Triage organization {index}", "slug": f"triage-{index}"})
        weights = [rng.lognormvariate(0, 0.8) for _ in range(rng.randint(1, 5))]
        for number, count in enumerate(_split(reports, weights)):
            project_id, prefix = uuid7_at(start - timedelta(days=rng.uniform(0, 1))), _letters(number)
            new_projects.append(
                {"id": project_id, "organization_id": organization_id, "prefix": prefix, "name": f"Site {number}"}
            )
            projects.append(PlannedProject(organization_id, project_id, prefix, count))
    return Plan(projects, max(1, math.ceil(sizes.reports / chunk_rows)), start, organizations, new_projects)


def uuid7_at(moment: datetime) -> uuid.UUID:
    """A UUIDv7 for `moment` (the app's ids are UUIDv7: they sort in created order)."""
    milliseconds = int(moment.timestamp() * 1000)
    value = (milliseconds << 80) | (0x7 << 76) | (secrets.randbits(12) << 64) | (0b10 << 62) | secrets.randbits(62)
    return uuid.UUID(int=value)


# Progress --------------------------------------------------------------------------------------------


class ProgressBar:
    """`[#####-----] 450,000/1,000,000 reports  38 s` on stderr, redrawn in place."""

    def __init__(self, total: int, what: str) -> None:
        self.total, self.what, self.started = total, what, time.perf_counter()
        self.update(0)

    def update(self, done: int) -> None:
        filled = 30 * done // max(self.total, 1)
        seconds = time.perf_counter() - self.started
        bar = "#" * filled + "-" * (30 - filled)
        sys.stderr.write(f"\r[{bar}] {done:,}/{self.total:,} {self.what}  {seconds:.0f} s")
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


# Seeding ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Focus:
    """The queried organization: its projects, its owner and an organization API token."""

    projects: list[Project]
    owner_id: uuid.UUID
    token: str


async def seed_focus() -> Focus:
    """The queried organization made by the app's own services: sign-up, projects, an API token."""
    # The app's engine is cached per process; this environment's settings may be newer than it.
    alchemy_config.cache_clear()
    projects = await seed_projects(1, FOCUS_PROJECTS)
    organization_id = uuid.UUID(projects[0].organization_id)
    async with (
        alchemy_config().get_session() as session,
        session.begin(),
        scoped(session, tenant_scope(organization_id)),
    ):
        owner_id = await session.scalar(select(Membership.user_id))
        _token, secret = await TokenService(session=session).issue("triage benchmark", owner_id)
    await alchemy_config().get_engine().dispose()
    if owner_id is None:
        msg = "the queried organization has no owner"
        raise RuntimeError(msg)
    return Focus(projects, owner_id, secret)


async def insert_tenants(owner_url: str, bulk: Plan) -> None:
    """The other organizations, their projects, widget keys, tracking prefixes, and every project's tracking
    counter."""
    moment = bulk.start
    widget_config = msgspec.to_builtins(WidgetConfig())
    organizations = [
        {**row, "default_locale": "en", "timezone": "UTC", "security": {}, "created_at": moment, "updated_at": moment}
        for row in bulk.organizations
    ]
    projects = [
        {
            "id": row["id"],
            "organization_id": row["organization_id"],
            "name": row["name"],
            "tracking_prefix": row["prefix"],
            "is_active": True,
            "is_public": False,
            "guests_see_guests": False,
            "require_origin": False,
            "allowed_origins": [],
            "rate_limit_per_minute": 10,
            "widget_config": widget_config,
            "created_at": moment,
            "updated_at": moment,
        }
        for row in bulk.new_projects
    ]
    keys = [
        {
            "id": uuid7_at(moment),
            "organization_id": row["organization_id"],
            "project_id": row["id"],
            "key": WIDGET_KEY_PREFIX + secrets.token_urlsafe(32),
            "created_at": moment,
            "updated_at": moment,
        }
        for row in bulk.new_projects
    ]
    prefixes = [
        {
            "id": uuid7_at(moment),
            "organization_id": row["organization_id"],
            "project_id": row["id"],
            "prefix": row["prefix"],
            "created_at": moment,
            "updated_at": moment,
        }
        for row in bulk.new_projects
    ]
    counters = [
        {
            "id": uuid7_at(moment),
            "organization_id": project.organization_id,
            "project_id": project.project_id,
            "last_number": project.reports,
            "created_at": moment,
            "updated_at": moment,
        }
        for project in bulk.projects
    ]
    engine = make_alchemy_config(owner_url).get_engine()
    async with engine.begin() as connection:
        for model, rows in (
            (Organization, organizations),
            (ProjectRow, projects),
            (ProjectKey, keys),
            (ProjectPrefix, prefixes),
            (ProjectCounter, counters),
        ):
            if rows:
                await connection.execute(insert(model.__table__), rows)  # type: ignore[arg-type]
    await engine.dispose()


# PostgreSQL bulk load: server-side, from one staging table of texts -----------------------------------

_PG_REPORTS = """
INSERT INTO report (
    id, project_id, number, tracking_id, title, description, status, status_id, severity, priority, category,
    source, reporter_name, reporter_email, reporter_identifier, page_url, page_metadata, console_logs,
    network_logs, user_actions, annotations, tags, assignee_id, external_id, search_text, search_grams,
    organization_id,
    created_at, updated_at
)
SELECT
    (lpad(to_hex((extract(epoch FROM g.created_at) * 1000)::bigint), 12, '0') || '7'
        || substr(md5(random()::text), 1, 3) || '8' || substr(md5(random()::text), 1, 15))::uuid,
    g.project_id, g.number, g.prefix || '-' || g.number, t.title, t.description,
    g.status, ($7::int[])[g.status_index], ($8::text[])[g.pick_severity], ($9::text[])[g.pick_priority],
    ($10::text[])[g.pick_category], g.source,
    CASE WHEN g.source = 'widget' THEN 'Customer ' || g.reporter END,
    CASE WHEN g.source = 'widget' THEN 'customer' || g.reporter || '@example.com' END,
    NULL,
    CASE WHEN g.source = 'widget' THEN 'https://shop.example.com' || ($12::text[])[g.pick_page] END,
    ($13::jsonb[])[g.pick_metadata], ($14::jsonb[])[g.pick_logs], '[]', '[]', NULL, ($11::jsonb[])[g.pick_tags],
    CASE WHEN g.assignee IS NOT NULL AND g.assigned < {ASSIGNED_SHARE} THEN g.assignee END, NULL,
    t.search_text, t.grams, g.organization_id, g.created_at,
    LEAST(g.created_at + g.touched * interval '20 days', $15::timestamptz)
FROM (
    SELECT
        s.organization_id, s.project_id, s.prefix, s.assignee, n AS number,
        $16::timestamptz + (n - 1 + random()) / s.total * $17::interval AS created_at,
        1 + floor(random() * $18::int)::int AS variant,
        ($6::text[])[1 + floor(random() * cardinality($6::text[]))::int] AS status,
        1 + floor(random() * cardinality($8::text[]))::int AS pick_severity,
        1 + floor(random() * cardinality($9::text[]))::int AS pick_priority,
        1 + floor(random() * cardinality($10::text[]))::int AS pick_category,
        ($19::text[])[1 + floor(random() * cardinality($19::text[]))::int] AS source,
        1 + floor(random() * cardinality($11::jsonb[]))::int AS pick_tags,
        1 + floor(random() * cardinality($12::text[]))::int AS pick_page,
        1 + floor(random() * cardinality($13::jsonb[]))::int AS pick_metadata,
        1 + floor(random() * cardinality($14::jsonb[]))::int AS pick_logs,
        floor(random() * 5000)::int AS reporter, random() AS assigned, random() AS touched
    FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::int[], $5::int[], $20::int[], $21::uuid[])
        AS s(organization_id, project_id, prefix, first, last, total, assignee)
    CROSS JOIN LATERAL generate_series(s.first, s.last) AS n
) g
JOIN bench_text t ON t.k = g.variant
ORDER BY g.created_at
"""
# The status id of each status, in the order of the weighted status list.
_STATUS_INDEX = "array_position($22::text[], g.status)"


async def _drop_secondary_indexes(connection: asyncpg.Connection) -> list[tuple[str, str]]:
    """Drop report's indexes that back no constraint, returning their definitions to make them again.

    Building an index once over a loaded table is several times faster than growing it row by row (the
    GIN index of bigrams above all); the rebuilt indexes are the migration's own, read back from the catalog.
    The primary key and unique numbering stay, so the load is checked as it goes.
    """
    rows = await connection.fetch(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'report'::regclass AND NOT i.indisprimary AND NOT i.indisunique ORDER BY c.relname",
    )
    for name, _definition in rows:
        await connection.execute(f'DROP INDEX "{name}"')
    return [(name, definition) for name, definition in rows]


def _indexed(title: str, description: str) -> tuple[str, list[str]]:
    """A report's search text and bigrams, as the app stores them."""
    search_text = report_search_text(title, description)
    return search_text, report_bigrams(search_text)


async def load_postgres(owner_url: str, bulk: Plan, variants: list[tuple[str, str]]) -> dict[str, float]:

    phases: dict[str, float] = {}
    url = make_url(owner_url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(url)
    try:
        started = time.perf_counter()
        await connection.execute(
            "CREATE TEMP TABLE bench_text "
            "(k int PRIMARY KEY, title text, description text, search_text text, grams text[])",
        )
        await connection.copy_records_to_table(
            "bench_text",
            records=[(k, title, body, *_indexed(title, body)) for k, (title, body) in enumerate(variants, 1)],
        )
        await connection.execute("ANALYZE bench_text")
        phases["texts_seconds"] = time.perf_counter() - started
        statuses = list(STATUSES)
        statement = _PG_REPORTS.replace("g.status_index", _STATUS_INDEX).replace(
            "{ASSIGNED_SHARE}", str(ASSIGNED_SHARE)
        )
        constants = {
            6: _weighted(STATUSES),
            7: [STATUS_IDS[status] for status in statuses],
            8: _weighted(SEVERITIES),
            9: _weighted(PRIORITIES),
            10: _weighted(CATEGORIES),
            11: _weighted(TAGS),
            12: list(PAGES),
            13: list(METADATA),
            14: list(CONSOLE_LOGS),
            15: bulk.start + SPAN,
            16: bulk.start,
            17: SPAN,
            18: len(variants),
            19: _weighted(SOURCES),
            22: statuses,
        }
        started = time.perf_counter()
        indexes = await _drop_secondary_indexes(connection)
        bar, done = ProgressBar(bulk.total, "reports"), 0
        for chunk in range(bulk.chunks):
            segments = list(bulk.segments(chunk))
            arguments = {
                1: [project.organization_id for project, _f, _l in segments],
                2: [project.project_id for project, _f, _l in segments],
                3: [project.prefix for project, _f, _l in segments],
                4: [first for _p, first, _l in segments],
                5: [last for _p, _f, last in segments],
                20: [project.reports for project, _f, _l in segments],
                21: [project.assignee for project, _f, _l in segments],
                **constants,
            }
            status = await connection.execute(statement, *(arguments[index] for index in range(1, 23)))
            done += int(status.split()[-1])
            bar.update(done)
        bar.close()
        phases["reports_seconds"] = time.perf_counter() - started
        if done != bulk.total:
            msg = f"inserted {done} reports, planned {bulk.total}"
            raise RuntimeError(msg)
        started = time.perf_counter()
        await connection.execute(f"SET maintenance_work_mem = '{INDEX_MEMORY}'")
        for name, definition in indexes:
            began = time.perf_counter()
            await connection.execute(definition)
            say(f"  index {name}: {time.perf_counter() - began:.1f} s")
        phases["indexes_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        say("VACUUM ANALYZE ...")
        await connection.execute("VACUUM (ANALYZE) report, project, project_counter, organization")
        phases["analyze_seconds"] = time.perf_counter() - started
    finally:
        await connection.close()
    return phases


# SQLite bulk load: Core inserts (the app's own column types), the FTS triggers fire per row ------------


def sqlite_rows(
    bulk: Plan,
    chunk: int,
    variants: list[tuple[str, str, str, list[str]]],
    rng: random.Random,
) -> list[dict[str, Any]]:
    """The reports of one chunk, as the PostgreSQL load makes them (same shares, same texts)."""
    statuses, severities = _weighted(STATUSES), _weighted(SEVERITIES)
    priorities, categories, sources = _weighted(PRIORITIES), _weighted(CATEGORIES), _weighted(SOURCES)
    tags = [json.loads(value) for value in _weighted(TAGS)]
    metadata = [json.loads(value) for value in METADATA]
    logs = [json.loads(value) for value in CONSOLE_LOGS]
    end = bulk.start + SPAN
    rows = []
    for project, first, last in bulk.segments(chunk):
        for number in range(first, last + 1):
            created = bulk.start + (number - 1 + rng.random()) / project.reports * SPAN
            title, description, search_text, grams = rng.choice(variants)
            status, source = rng.choice(statuses), rng.choice(sources)
            widget = source == "widget"
            reporter = rng.randrange(5000)
            rows.append(
                {
                    "id": uuid7_at(created),
                    "project_id": project.project_id,
                    "number": number,
                    "tracking_id": f"{project.prefix}-{number}",
                    "title": title,
                    "description": description,
                    "status": status,
                    "status_id": STATUS_IDS[status],
                    "severity": rng.choice(severities),
                    "priority": rng.choice(priorities),
                    "category": rng.choice(categories),
                    "source": source,
                    "reporter_name": f"Customer {reporter}" if widget else None,
                    "reporter_email": f"customer{reporter}@example.com" if widget else None,
                    "reporter_identifier": None,
                    "page_url": "https://shop.example.com" + rng.choice(PAGES) if widget else None,
                    "page_metadata": rng.choice(metadata),
                    "console_logs": rng.choice(logs),
                    "network_logs": [],
                    "user_actions": [],
                    "annotations": None,
                    "tags": rng.choice(tags),
                    "assignee_id": project.assignee if project.assignee and rng.random() < ASSIGNED_SHARE else None,
                    "external_id": None,
                    "search_text": search_text,
                    "search_grams": grams,
                    "organization_id": project.organization_id,
                    "created_at": created,
                    "updated_at": min(created + rng.random() * timedelta(days=20), end),
                },
            )
    rows.sort(key=lambda row: row["created_at"])
    return rows


async def load_sqlite(owner_url: str, bulk: Plan, variants: list[tuple[str, str]]) -> dict[str, float]:

    rng = random.Random(SEED)
    texts = [(title, body, *_indexed(title, body)) for title, body in variants]
    engine = make_alchemy_config(owner_url).get_engine()
    started = time.perf_counter()
    bar, done = ProgressBar(bulk.total, "reports"), 0
    for chunk in range(bulk.chunks):
        rows = sqlite_rows(bulk, chunk, texts, rng)
        async with engine.begin() as connection:
            await connection.execute(insert(Report.__table__), rows)  # type: ignore[arg-type]
        done += len(rows)
        bar.update(done)
    bar.close()
    phases = {"reports_seconds": time.perf_counter() - started}
    if done != bulk.total:
        msg = f"inserted {done} reports, planned {bulk.total}"
        raise RuntimeError(msg)
    started = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE"))
    phases["analyze_seconds"] = time.perf_counter() - started
    await engine.dispose()
    return phases


# Queries ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Query:
    name: str
    params: dict[str, str]
    check: Callable[[dict[str, Any]], None]
    path: str = "/api/v1/reports"

    def url(self) -> str:
        return self.path + ("?" + urlencode(self.params, safe="[],-") if self.params else "")


def _has_items(body: dict[str, Any]) -> None:
    items = body.get("data", body.get("items"))
    if items is None and isinstance(body.get("data"), dict):
        items = body["data"].get("items")
    if not items:
        msg = f"no reports in the answer: {json.dumps(body)[:300]}"
        raise AssertionError(msg)


def _native_items(body: dict[str, Any]) -> None:
    if not body["data"]["items"] or body["data"]["total"] <= 0:
        msg = f"no reports in the answer: {json.dumps(body)[:300]}"
        raise AssertionError(msg)


def _holding(term: str) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        _has_items(body)
        for resource in body["data"]:
            attributes = resource["attributes"]
            if term.casefold() not in (attributes["title"] + attributes["description"]).casefold():
                msg = f"{attributes['title']!r} does not hold {term!r}"
                raise AssertionError(msg)

    return check


def _total(expected: int) -> Callable[[dict[str, Any]], None]:
    def check(body: dict[str, Any]) -> None:
        if body.get("meta", {}).get("total") != expected:
            msg = f"meta.total {body.get('meta')} is not {expected}"
            raise AssertionError(msg)

    return check


def _included(body: dict[str, Any]) -> None:
    _has_items(body)
    kinds = {resource["type"] for resource in body.get("included", [])}
    if not {"project", "user"} <= kinds or set(body["data"][0]["attributes"]) != {"title", "status", "severity"}:
        msg = f"includes or fieldsets not applied: {json.dumps(body)[:400]}"
        raise AssertionError(msg)


# An offset page answers `meta.total`; one row keeps the answer to the count.
FIRST_OFFSET_PAGE = {"page[offset]": "0", "page[limit]": "1"}


def queries(expected_totals: dict[str, int]) -> list[Query]:
    """The triage queries (JSON:API unless named native); `expected_totals` from the owner's own counts."""
    return [
        Query("filtered", {"filter[status]": "todo", "filter[severity]": "critical"}, _has_items),
        Query("sorted_severity", {"sort": "severity,-createdAt"}, _has_items),
        Query("sorted_priority", {"sort": "priority,-createdAt", "filter[status]": "new"}, _has_items),
        Query("search_latin", {"filter[search]": LATIN_TERM}, _holding(LATIN_TERM)),
        Query("search_cjk_two_chars", {"filter[search]": BIGRAM_TERM}, _holding(BIGRAM_TERM)),
        Query("search_cjk_three_chars", {"filter[search]": TRIGRAM_TERM}, _holding(TRIGRAM_TERM)),
        Query(
            "include_sparse",
            {
                "filter[status]": "new",
                "include": "project,assignee",
                "fields[report]": "title,status,severity,project,assignee",
                "fields[project]": "name",
                "fields[user]": "name",
                "page[limit]": "50",
            },
            _included,
        ),
        Query("count_new", {"filter[status]": "new", **FIRST_OFFSET_PAGE}, _total(expected_totals["new"])),
        Query("count_all", FIRST_OFFSET_PAGE, _total(expected_totals["all"])),
        Query("native_filtered", {"status": "todo", "severity": "critical"}, _native_items),
    ]  # fmt: skip


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _server_ms(response: httpx.Response) -> float:
    timing = response.headers.get("server-timing", "")
    for part in timing.split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name == "app" and duration:
            return float(duration)
    msg = f"no Server-Timing app;dur in {response.request.url}"
    raise AssertionError(msg)


def _get(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:  # noqa: PLR2004
        msg = f"GET {url}: {response.status_code} {response.text[:400]}"
        raise AssertionError(msg)
    return response, elapsed


def measure(client: httpx.Client, name: str, url: str, check: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    warmup, requests = _int("BENCH_TRIAGE_WARMUP", 20), _int("BENCH_TRIAGE_REQUESTS", 200)
    server: list[float] = []
    client_side: list[float] = []
    for index in range(warmup + requests):
        response, elapsed = _get(client, url)
        if index == 0:
            check(response.json())
        if index >= warmup:
            server.append(_server_ms(response))
            client_side.append(elapsed)
    p95 = _percentile(server, 0.95)
    result = {
        "name": name,
        "url": url,
        "server_p50_ms": round(_percentile(server, 0.5), 2),
        "server_p95_ms": round(p95, 2),
        "client_p50_ms": round(_percentile(client_side, 0.5), 2),
        "requests": requests,
        "meets_target": p95 <= TARGET_P95_MS,
    }
    say(f"  {name:24} p50 {result['server_p50_ms']:7.2f} ms  p95 {result['server_p95_ms']:7.2f} ms  {url}")
    return result


def deep_cursor(client: httpx.Client, params: dict[str, str], pages: int) -> str:
    """The path and query of the page `pages` deep, reached by following `links.next` (a whole address under
    LANTERN_PUBLIC_URL; the report names every query by its path)."""
    url = Query("", params, _has_items).url()
    for _ in range(pages):
        response, _elapsed = _get(client, url)
        following = response.json()["links"]["next"]
        if not following:
            msg = f"the list ended before page {pages}: {url}"
            raise AssertionError(msg)
        url = httpx.URL(following).raw_path.decode("ascii")
    return url


def run_queries(base_url: str, token: str, expected_totals: dict[str, int]) -> list[dict[str, Any]]:
    # At most half way down the queried organization's list of 20-report pages: a next page always exists.
    pages = min(_int("BENCH_TRIAGE_DEEP_PAGES", 500), expected_totals["all"] // 40)
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as client:
        results = [measure(client, query.name, query.url(), query.check) for query in queries(expected_totals)]
        for name, params in (
            ("deep_cursor_created", {"page[limit]": "20"}),
            ("deep_cursor_severity", {"page[limit]": "20", "sort": "severity,-createdAt"}),
        ):
            started = time.perf_counter()
            url = deep_cursor(client, params, pages)
            say(f"  followed {pages} pages in {time.perf_counter() - started:.1f} s")
            results.append({**measure(client, name, url, _has_items), "depth_pages": pages})
    return results


async def count_search_bigrams() -> float:
    """The worker's hourly job (PostgreSQL; nothing to count on SQLite); returns the seconds it took."""
    started = time.perf_counter()
    await refresh_search_gram_shares({})
    await alchemy_config().get_engine().dispose()
    return time.perf_counter() - started


async def owner_totals(owner_url: str, organization_id: str) -> dict[str, int]:
    """The queried organization's counts and matches, counted by the owner: what the API must answer."""
    engine = make_alchemy_config(owner_url).get_engine()
    organization = uuid.UUID(organization_id)
    if engine.dialect.name == "sqlite":
        parameters: dict[str, Any] = {"organization": organization.bytes}
    else:
        parameters = {"organization": organization}
    totals: dict[str, int] = {}
    counts = {
        "all": "",
        "new": "AND status = 'new'",
        "todo_critical": "AND status = 'todo' AND severity = 'critical'",
        **{f"search {term}": "AND (lower(title) LIKE :term OR lower(description) LIKE :term)" for term in TERM_SHARES},
    }
    async with engine.connect() as connection:
        for name, condition in counts.items():
            statement = text(f"SELECT count(*) FROM report WHERE organization_id = :organization {condition}")  # noqa: S608 - our constants
            term = {"term": f"%{name.removeprefix('search ')}%"} if name.startswith("search ") else {}
            totals[name] = int(await connection.scalar(statement, {**parameters, **term}) or 0)
    await engine.dispose()
    return totals


# The run ---------------------------------------------------------------------------------------------


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def bench_database(environment: Environment, sizes: Sizes) -> dict[str, Any]:
    phases: dict[str, float] = {}
    started = time.perf_counter()
    environment.activate()
    phases["migrate_seconds"] = time.perf_counter() - started
    owner_url = environment.variables["DATABASE_OWNER_URL"]
    postgres = environment.database == "postgresql"

    started = time.perf_counter()
    focus = asyncio.run(seed_focus())
    chunk_rows = PG_CHUNK if postgres else SQLITE_CHUNK
    bulk = plan(sizes, focus.projects, focus.owner_id, chunk_rows)
    asyncio.run(insert_tenants(owner_url, bulk))
    variants = text_variants(VARIANTS, random.Random(SEED))
    phases["tenants_seconds"] = time.perf_counter() - started

    say(f"{environment.database}: loading {sizes.reports:,} reports over {sizes.organizations:,} organizations")
    started = time.perf_counter()
    loader = load_postgres if postgres else load_sqlite
    phases.update(asyncio.run(loader(owner_url, bulk, variants)))
    phases["search_bigrams_seconds"] = asyncio.run(count_search_bigrams())
    load_seconds = time.perf_counter() - started
    say(f"{environment.database}: loaded in {load_seconds:.1f} s ({sizes.reports / load_seconds:,.0f} reports/s)")

    totals = asyncio.run(owner_totals(owner_url, focus.projects[0].organization_id))
    started = time.perf_counter()
    with serve(environment, _int("BENCH_TRIAGE_PORT", PORT)) as base_url:
        phases["server_start_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        results = run_queries(base_url, focus.token, totals)
        phases["queries_seconds"] = time.perf_counter() - started
    return {
        "sizes": sizes.describe(),
        "load_seconds": round(load_seconds, 1),
        "phases_seconds": {name: round(value, 1) for name, value in phases.items()},
        "queried_organization_counts": totals,
        "target_p95_ms": TARGET_P95_MS,
        "all_meet_target": all(result["meets_target"] for result in results),
        "queries": results,
    }


def run() -> dict[str, Any]:
    databases = (os.environ.get("BENCH_TRIAGE_DATABASES") or "postgresql,sqlite").split(",")
    result: dict[str, Any] = {}
    started = time.perf_counter()
    if "postgresql" in databases:
        sizes = Sizes(
            reports=_int("BENCH_TRIAGE_REPORTS", 1_000_000),
            organizations=_int("BENCH_TRIAGE_ORGANIZATIONS", 1_000),
            focus_reports=_int("BENCH_TRIAGE_FOCUS_REPORTS", 0) or _int("BENCH_TRIAGE_REPORTS", 1_000_000) // 10,
        )
        environment = Environment.postgres(DATABASE)
        try:
            result["postgresql"] = bench_database(environment, sizes)
        finally:
            environment.close()
    if "sqlite" in databases:
        reports = _int("BENCH_TRIAGE_SQLITE_REPORTS", 100_000)
        sizes = Sizes(
            reports=reports,
            organizations=_int("BENCH_TRIAGE_SQLITE_ORGANIZATIONS", 100),
            focus_reports=_int("BENCH_TRIAGE_SQLITE_FOCUS_REPORTS", 0) or reports // 10,
        )
        environment = Environment.sqlite()
        try:
            result["sqlite"] = bench_database(environment, sizes)
        finally:
            environment.close()
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2, ensure_ascii=False))
