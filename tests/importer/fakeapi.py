"""A Statuspage-shaped manage API v1 on loopback, for the importer's tests and bench.

A real HTTP server (``http.server`` in a thread) serving one page from plain data shaped
as the OpenAPI description in ../shared says: bare objects and arrays, absent fields left
out rather than null, a group's and a subscriber's ``components`` as a JSON string,
paging by ``page`` (from 1; subscribers from 0) with ``per_page`` or ``limit``, capped at
``max_page_size`` so that small data still takes several pages.

Faults on demand: a wrong key is a 401 with a JSON body; ``rate_limit_once`` answers
the first request of each listed path with a 429 and ``Retry-After: 1``; ``fail_after``
answers every request after that many with a 500 (a source that dies mid-way);
``answer_with`` gives a path a fixed status and raw body; ``ignore_paging`` answers the
first page whatever is asked.
``exchanges`` keeps every request and answer, for checking them against the OpenAPI
description.
"""

import json
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "89a229ce1a8dbcf9ff30430fbe35eb4c0426574bca932061892cefd2138aa4b1"
PAGE_ID = "gytm4qzbx9t6"


def iso(moment: datetime) -> str:
    """Statuspage's times: ISO-8601 with milliseconds and an offset."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


@dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    status: int
    body: bytes
    headers: dict[str, str]
    injected: bool  # a fault asked for by the test, not an answer of the API


@dataclass
class PageData:
    """One page's objects, as the API returns them."""

    page: dict[str, Any]
    groups: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    templates: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)  # newest first
    postmortems: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscribers: list[dict[str, Any]] = field(default_factory=list)
    incident_subscribers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def incidents_by_id(self, iid: str) -> dict[str, Any]:
        return next(i for i in self.incidents if i["id"] == iid)

    def components_by_id(self, cid: str) -> dict[str, Any]:
        return next(c for c in self.components if c["id"] == cid)


class FakeStatuspage:
    """The server; ``url`` is the API's base (``http://127.0.0.1:<port>/v1``)."""

    def __init__(self, data: PageData, *, max_page_size: int = 100) -> None:
        self.data = data
        self.max_page_size = max_page_size
        self.rate_limit_once: set[str] = set()
        self.retry_after = "1"  # seconds, or an HTTP date
        self.fail_after: int | None = None
        self.answer_with: dict[str, tuple[int, str]] = {}  # path -> (status, raw body)
        self.ignore_paging = False
        self.pages_from_one = False  # page=0 is a 400, as some servers answer
        self.delay = 0.0  # seconds before each answer: a slow source
        self.requests = 0
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeStatuspage":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- answering ----------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        if self.delay:
            time.sleep(self.delay)
        parts = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            self.requests += 1
            count = self.requests
            limited = parts.path in self.rate_limit_once
            self.rate_limit_once.discard(parts.path)
        headers: dict[str, str] = {}
        injected = True
        body: Any
        if self.fail_after is not None and count > self.fail_after:
            status, body = 500, {"message": "Internal server error"}
        elif limited:
            status, body = 429, {"message": "Rate limited: try again later."}
            headers["Retry-After"] = self.retry_after
        elif parts.path in self.answer_with:
            status, body = self.answer_with[parts.path]
        elif (
            handler.headers.get("Authorization") != f"OAuth {API_KEY}"
            and query.get("api_key") != API_KEY
        ):
            status, body = 401, {"message": "Could not authenticate"}
            injected = False
        else:
            injected = False
            status, body = self._route(parts.path.removesuffix(".json"), query)
        payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        with self._lock:
            self.exchanges.append(
                Exchange("get", parts.path, query, status, payload, dict(headers), injected)
            )
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)

    def _route(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        data = self.data
        prefix = f"/v1/pages/{PAGE_ID}"
        if not path.startswith(prefix):
            return 404, {"message": "The requested resource could not be found."}
        rest = path.removeprefix(prefix)
        lists = {
            "/component-groups": (data.groups, "per_page", 1),
            "/components": (data.components, "per_page", 1),
            "/incident_templates": (data.templates, "per_page", 1),
            "/incidents": (data.incidents, "limit", 1),
            "/subscribers": (self._subscribers(query), "limit", 0),
        }
        if rest == "":
            return 200, data.page
        if rest in lists:
            rows, size_param, first = lists[rest]
            if self.pages_from_one:
                if query.get("page") == "0":
                    return 400, {"message": "page must be a whole number from 1."}
                first = 1
            return 200, self._paged(rows, query, size_param, first)
        bits = rest.strip("/").split("/")
        if len(bits) == 3 and bits[0] == "incidents" and bits[2] == "postmortem":
            postmortem = data.postmortems.get(bits[1])
            if postmortem is None:
                return 404, {"message": "The requested resource could not be found."}
            return 200, postmortem
        if len(bits) == 3 and bits[0] == "incidents" and bits[2] == "subscribers":
            if not any(i["id"] == bits[1] for i in data.incidents):
                return 404, {"message": "The requested resource could not be found."}
            rows = data.incident_subscribers.get(bits[1], [])
            return 200, self._paged(rows, query, "per_page", 1)
        return 404, {"message": "The requested resource could not be found."}

    def _subscribers(self, query: dict[str, str]) -> list[dict[str, Any]]:
        rows = self.data.subscribers
        if query.get("type"):
            rows = [r for r in rows if r.get("mode") == query["type"]]
        return rows

    def _paged(
        self, rows: list[dict[str, Any]], query: dict[str, str], size_param: str, first: int
    ) -> list[dict[str, Any]]:
        size = min(int(query.get(size_param, 100)), self.max_page_size)
        number = 0 if self.ignore_paging else int(query.get("page", first)) - first
        return rows[number * size : (number + 1) * size]


# --- the page the tests import ----------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)


def component(
    cid: str, name: str, position: int, *, group_id: str = "", status: str = "operational"
) -> dict[str, Any]:
    created = NOW - timedelta(days=400)
    row = {
        "id": cid,
        "page_id": PAGE_ID,
        "name": name,
        "description": f"{name} of the example page",
        "position": position,
        "status": status,
        "showcase": True,
        "only_show_if_degraded": False,
        "group": False,
        "created_at": iso(created),
        "updated_at": iso(created),
        "start_date": (created.date()).isoformat(),
    }
    if group_id:
        row["group_id"] = group_id
    return row


def update(
    uid: str,
    incident_id: str,
    status: str,
    body: str,
    at: datetime,
    affected: list[tuple[str, str, str, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    return {
        "id": uid,
        "incident_id": incident_id,
        "status": status,
        "body": body,
        "display_at": iso(at),
        "created_at": iso(at),
        "updated_at": iso(at),
        "deliver_notifications": True,
        "affected_components": [
            {"code": code, "name": name, "old_status": old, "new_status": new}
            for code, name, old, new in affected
        ],
    }


def incident(
    iid: str,
    name: str,
    updates: list[dict[str, Any]],
    components: list[dict[str, Any]],
    *,
    impact: str,
    maintenance: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """An incident whose updates are given oldest first (served newest first)."""
    first, last = updates[0], updates[-1]
    row: dict[str, Any] = {
        "id": iid,
        "page_id": PAGE_ID,
        "name": name,
        "status": last["status"],
        "impact": impact,
        "created_at": first["created_at"],
        "updated_at": last["updated_at"],
        "shortlink": f"https://stspg.io/{iid[:5]}",
        "incident_updates": list(reversed(updates)),
        "components": components,
    }
    for u in updates:
        if u["status"] == "monitoring" and "monitoring_at" not in row:
            row["monitoring_at"] = u["display_at"]
    if last["status"] in ("resolved", "completed"):
        row["resolved_at"] = last["display_at"]
    if maintenance is not None:
        row["scheduled_for"], row["scheduled_until"] = iso(maintenance[0]), iso(maintenance[1])
        row["scheduled_auto_in_progress"] = True
        row["scheduled_auto_completed"] = True
    return row


def example_page(incidents: int = 0) -> PageData:
    """A page with two groups, five components (one with an id that is not a
    12-character code), two templates, incidents with their history (a major outage,
    a degradation, a maintenance, one still open), a published and a draft
    postmortem, email subscribers and followers of the open incident. ``incidents`` adds
    that many more past incidents of four updates each (the benchmark)."""
    groups = [
        {"id": "grp0api00001", "name": "API", "position": "1"},
        {"id": "grp0web00002", "name": "Website", "position": "3"},
    ]
    comps = [
        component("cmp0rest0001", "REST API", 1, group_id="grp0api00001"),
        component("cmp0gql00002", "GraphQL", 2, group_id="grp0api00001"),
        component("cmp0cdn00003", "CDN", 2),  # outside any group, between the groups
        component("cmp0www00004", "Marketing site", 1, group_id="grp0web00002"),
        component("legacy-dashboard", "Dashboard", 2, group_id="grp0web00002"),
    ]
    groups[0]["components"] = json.dumps(["cmp0rest0001", "cmp0gql00002"])
    groups[1]["components"] = json.dumps(["cmp0www00004", "legacy-dashboard"])
    for g in groups:
        g.update(
            page_id=PAGE_ID, created_at=comps[0]["created_at"], updated_at=comps[0]["created_at"]
        )
    rest, gql, cdn, www, dash = comps

    def day(n: int, hour: int = 10, minute: int = 0) -> datetime:
        return (NOW - timedelta(days=n)).replace(hour=hour, minute=minute, second=0)

    rows = []
    # A major outage of the REST API 20 days ago, six hours long.
    rows.append(
        incident(
            "inc0major001",
            "REST API unavailable",
            [
                update(
                    "upd0major001",
                    "inc0major001",
                    "investigating",
                    "We are looking into errors.",
                    day(20, 8),
                    [("cmp0rest0001", "REST API", "operational", "major_outage")],
                ),
                update(
                    "upd0major002",
                    "inc0major001",
                    "identified",
                    "A bad deploy; rolling back.",
                    day(20, 10),
                ),
                update(
                    "upd0major003",
                    "inc0major001",
                    "monitoring",
                    "Rolled back; watching.",
                    day(20, 13),
                    [("cmp0rest0001", "REST API", "major_outage", "operational")],
                ),
                update("upd0major004", "inc0major001", "resolved", "Resolved.", day(20, 14)),
            ],
            [rest],
            impact="critical",
        )
    )
    # A degradation of GraphQL and the CDN 10 days ago.
    rows.append(
        incident(
            "inc0degrd001",
            "Slow GraphQL queries",
            [
                update(
                    "upd0degrd001",
                    "inc0degrd001",
                    "investigating",
                    "Queries are slow.",
                    day(10, 9),
                    [
                        ("cmp0gql00002", "GraphQL", "operational", "degraded_performance"),
                        ("cmp0cdn00003", "CDN", "operational", "partial_outage"),
                    ],
                ),
                update(
                    "upd0degrd002",
                    "inc0degrd001",
                    "resolved",
                    "Back to normal.",
                    day(10, 11),
                    [
                        ("cmp0gql00002", "GraphQL", "degraded_performance", "operational"),
                        ("cmp0cdn00003", "CDN", "partial_outage", "operational"),
                    ],
                ),
            ],
            [gql, cdn],
            impact="major",
        )
    )
    # A completed maintenance of the website 5 days ago.
    rows.append(
        incident(
            "mnt0www00001",
            "Website maintenance",
            [
                update(
                    "upd0mnt00001",
                    "mnt0www00001",
                    "scheduled",
                    "We will upgrade the website.",
                    day(7, 9),
                ),
                update(
                    "upd0mnt00002",
                    "mnt0www00001",
                    "in_progress",
                    "Under way.",
                    day(5, 2),
                    [("cmp0www00004", "Marketing site", "operational", "under_maintenance")],
                ),
                update(
                    "upd0mnt00003",
                    "mnt0www00001",
                    "completed",
                    "Done.",
                    day(5, 3),
                    [("cmp0www00004", "Marketing site", "under_maintenance", "operational")],
                ),
            ],
            [www],
            impact="maintenance",
            maintenance=(day(5, 2), day(5, 4)),
        )
    )
    # Still open: the dashboard is partly down since an hour ago.
    open_since = NOW - timedelta(hours=1)
    dash["status"] = "partial_outage"
    dash["updated_at"] = iso(open_since)
    rows.append(
        incident(
            "inc0open0001",
            "Dashboard errors",
            [
                update(
                    "upd0open0001",
                    "inc0open0001",
                    "investigating",
                    "Some dashboards fail.",
                    open_since,
                    [("legacy-dashboard", "Dashboard", "operational", "partial_outage")],
                ),
            ],
            [dash],
            impact="major",
        )
    )
    for n in range(incidents):
        rows.append(_bulk_incident(n, comps))
    rows.sort(key=lambda r: r["incident_updates"][-1]["display_at"], reverse=True)

    postmortems = {
        "inc0major001": {
            "body": "The deploy skipped a migration. We added a check.",
            "published_at": iso(day(18)),
            "notify_subscribers": True,
            "notify_twitter": False,
            "created_at": iso(day(19)),
            "updated_at": iso(day(18)),
        },
        "inc0degrd001": {
            "body_draft": "Draft: the query planner chose a bad plan.",
            "created_at": iso(day(9)),
            "updated_at": iso(day(9)),
        },
    }
    for r in rows:
        if r["id"] == "inc0major001":
            r["postmortem_body"] = postmortems["inc0major001"]["body"]
            r["postmortem_published_at"] = True
            r["postmortem_notified_subscribers"] = True
        if r["id"] == "inc0degrd001":
            r["postmortem_body_last_updated_at"] = iso(day(9))

    def subscriber(
        sid: str, email: str, components: list[str], mode: str = "email"
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": sid,
            "mode": mode,
            "components": json.dumps(components),
            "created_at": iso(day(100)),
            "skip_confirmation_notification": False,
        }
        if mode == "email":
            row["email"] = email
        else:
            row["phone_number"] = "5555550100"
            row["phone_country"] = "US"
        return row

    every = [c["id"] for c in comps]
    subscribers = [
        subscriber("sub0alice001", "alice@example.com", every),
        subscriber("sub0bob00002", "bob@Example.COM", ["cmp0rest0001", "cmp0gql00002"]),
        subscriber("sub0carol003", "carol@example.com", ["cmp0cdn00003"]),
        subscriber("sub0sms00005", "", every, mode="sms"),
    ]
    incident_subscribers = {
        "inc0open0001": [
            subscriber("sub0dave0006", "dave@example.com", []),
            subscriber("sub0alice001", "alice@example.com", every),
        ]
    }
    templates = [
        {
            "id": "tpl0api00001",
            "name": "API errors",
            "title": "Elevated API errors",
            "body": "We are investigating elevated error rates.",
            "update_status": "investigating",
            "components": [rest, gql],
            "should_send_notifications": True,
            "should_tweet": False,
        },
        {
            "id": "tpl0cdn00002",
            "name": "CDN maintenance",
            "title": "CDN maintenance",
            "body": "We are upgrading the CDN.",
            "update_status": "scheduled",
            "components": [cdn],
        },
    ]
    page = {
        "id": PAGE_ID,
        "name": "Example",
        "url": "https://status.example.com",
        "time_zone": "Etc/UTC",
        "created_at": iso(day(500)),
        "updated_at": iso(NOW),
        "subdomain": "example",
        "allow_email_subscribers": True,
        "allow_incident_subscribers": True,
    }
    return PageData(
        page=page,
        groups=groups,
        components=comps,
        templates=templates,
        incidents=rows,
        postmortems=postmortems,
        subscribers=subscribers,
        incident_subscribers=incident_subscribers,
    )


def add_malformed(data: PageData) -> None:
    """Records the API may well serve (they fit the OpenAPI description) but that make
    no sense: an affected component in a status no page has, an address that is not one."""
    broken = incident(
        "inc0broken01",
        "Broken record",
        [
            update(
                "upd0broken01",
                "inc0broken01",
                "investigating",
                "Something.",
                NOW - timedelta(days=3),
                [("cmp0rest0001", "REST API", "operational", "exploded")],
            ),
            update("upd0broken02", "inc0broken01", "resolved", "Fixed.", NOW - timedelta(days=2)),
        ],
        [data.components[0]],
        impact="minor",
    )
    data.incidents.insert(1, broken)
    data.subscribers.append(
        {
            "id": "sub0bad00004",
            "mode": "email",
            "email": "not an address",
            "components": "[]",
            "created_at": iso(NOW - timedelta(days=3)),
        }
    )


def _bulk_incident(n: int, comps: list[dict[str, Any]]) -> dict[str, Any]:
    """One of many past incidents (the benchmark): four updates over an hour, each in its
    own two-hour slot going back from 30 days ago, one component degraded then back."""
    target = comps[n % 4]
    start = NOW - timedelta(days=30, hours=2 * n)
    iid = f"bulk{n:08d}"
    steps = [
        ("investigating", "operational", "degraded_performance"),
        ("identified", None, None),
        ("monitoring", "degraded_performance", "operational"),
        ("resolved", None, None),
    ]
    updates = [
        update(
            f"bupd{n:07d}{i}",
            iid,
            status,
            f"Update {i} of incident {n}: *all* is being handled.",
            start + timedelta(minutes=20 * i),
            [(target["id"], target["name"], old, new)] if old else [],
        )
        for i, (status, old, new) in enumerate(steps)
    ]
    return incident(iid, f"Past incident {n}", updates, [target], impact="minor")


def _serve(incidents: int, conn: Any) -> None:
    with FakeStatuspage(example_page(incidents)) as fake:
        conn.send(fake.url)
        conn.recv()  # until the parent says stop


def serve_in_process(incidents: int) -> tuple[str, Any]:
    """The example page with ``incidents`` more past incidents, served by a process of
    its own (so that the importer measured does not share its interpreter); returns the
    URL and a function that stops it."""
    parent, child = multiprocessing.get_context("fork").Pipe()
    process = multiprocessing.get_context("fork").Process(
        target=_serve, args=(incidents, child), daemon=True
    )
    process.start()
    url = parent.recv()

    def stop() -> None:
        parent.send("stop")
        process.join(timeout=10)

    return url, stop
