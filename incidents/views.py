"""Public pages. Each view asks incidents.pages (or incidents.history_pages) for its context
and renders; all of them are cached and answer conditional GETs through
statusportal.pagecache.public_cache."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from incidents import history_pages, pages
from statusportal.pagecache import public_cache


def _page_number(request: HttpRequest) -> int:
    """``?page=N`` (default 1); anything else is a 404, not a 500."""
    raw = request.GET.get("page", "1")
    if not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
        raise Http404("No such page.")
    return int(raw)


@public_cache
def status_page(request: HttpRequest) -> HttpResponse:
    return render(request, "status/index.html", pages.status_page())


@public_cache
def incident_detail(request: HttpRequest, code: str) -> HttpResponse:
    context = pages.incident_page(code)
    if context is None:
        return render(
            request,
            "404.html",
            {
                "title": "Incident not found",
                "message": "There is no incident or maintenance at this address. "
                "It may have been removed, or the link is mistyped.",
            },
            status=404,
        )
    return render(request, "status/incident.html", context)


@public_cache(params=("page",))
def history(request: HttpRequest) -> HttpResponse:
    try:
        context = history_pages.history_page(_page_number(request))
    except history_pages.PageOutOfRange:
        raise Http404("No such page.") from None
    return render(request, "status/history.html", context)


@public_cache(params=("page", "component"))
def uptime(request: HttpRequest) -> HttpResponse:
    try:
        context = history_pages.uptime_page(
            _page_number(request), component_code=request.GET.get("component")
        )
    except history_pages.PageOutOfRange:
        raise Http404("No such page.") from None
    except history_pages.UnknownComponent:
        return render(
            request,
            "404.html",
            {
                "title": "Component not found",
                "message": "No component with an uptime calendar has this code. "
                "Pick one on the uptime page.",
            },
            status=404,
        )
    return render(request, "status/uptime.html", context)
