"""The shape of the subscriptions app: imports at the top and one way, tasks by name."""

import ast
from pathlib import Path

import pytest
from celery import current_app
from django.core import mail

from subscriptions import enqueue, outbox
from subscriptions.models import Delivery, NotificationEvent

APP = Path(__file__).resolve().parents[2] / "subscriptions"

# Each module may import only the modules listed before it (and models, any time): see
# docs/architecture.md, 'Subscriptions'.
LAYERS = [
    "egress",
    "links",
    "audience",
    "enqueue",
    "rendering",
    "mime",
    "payloads",
    "services",
    "channels.base",
    "channels.mail",
    "channels.http",
    "channels.webhook",
    "channels.slack",
    "channels.teams",
    "outbox",
    "delivery",
    "scheduler",
    "tasks",
]


def _modules() -> dict[str, ast.Module]:
    return {
        ".".join(path.relative_to(APP).with_suffix("").parts): ast.parse(path.read_text())
        for path in APP.rglob("*.py")
        if "migrations" not in path.parts
    }


def _imported(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("subscriptions"):
            module = node.module.removeprefix("subscriptions").lstrip(".")
            names |= {f"{module}.{a.name}".lstrip(".") for a in node.names} | {module}
    return {name for name in names if name}


def test_no_import_inside_a_function_but_in_ready():
    for name, tree in _modules().items():
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if name == "apps" and function.name == "ready":
                continue
            nested = [n for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom)]
            assert not nested, f"subscriptions/{name}.py imports inside {function.name}()"


@pytest.mark.parametrize("module", LAYERS)
def test_modules_import_only_lower_layers(module):
    tree = _modules()[module]
    higher = set(LAYERS[LAYERS.index(module) :])
    assert not (_imported(tree) & higher - {module}), f"{module} imports a higher layer"


def test_nothing_imports_the_tasks_module():
    """(But the app's ``ready()``, which registers them.)"""
    for name, tree in _modules().items():
        if name == "apps":
            continue
        assert "tasks" not in _imported(tree), f"subscriptions/{name}.py imports tasks"


def test_tasks_are_registered_under_the_names_we_enqueue():
    assert {enqueue.FAN_OUT, enqueue.SEND_BATCH} <= set(current_app.tasks)


def test_enqueued_by_name_the_tasks_run_the_outbox(open_incident, everything, settings):
    """With eager tasks (no broker), the fan-out enqueued after the post runs the named
    fan-out task, which enqueues the named send task: the email goes out."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    current_app.conf.task_always_eager = True
    try:
        event = NotificationEvent.objects.get(update=open_incident().updates.get())
        assert enqueue.enqueue_fan_out(event.pk)
    finally:
        current_app.conf.task_always_eager = False
    assert Delivery.objects.get(event=event).state == Delivery.State.SENT
    assert [m.to for m in mail.outbox] == [["eve@example.com"]]


def test_sweep_enqueues_by_name_by_default(open_incident, everything, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(
        current_app,
        "send_task",
        lambda name, args=None, kwargs=None, **kw: sent.append((name, args)),
    )
    settings.SUBSCRIPTIONS_STALE_SECONDS = 0
    event = NotificationEvent.objects.get(update=open_incident().updates.get())
    outbox.fan_out(event.pk, enqueue=lambda ids: None)
    Delivery.objects.update(next_attempt_at=event.created_at)
    assert outbox.sweep().requeued == 1
    assert [name for name, _ in sent] == [enqueue.SEND_BATCH]
