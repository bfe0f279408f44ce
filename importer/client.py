"""A client of Statuspage's manage API v1 (``https://api.statuspage.io/v1``), or of any
server that speaks it: authentication, paging through every list, and retries.

See docs/architecture.md, "Importing from Statuspage". Only what the importer reads is
here: GET requests, answered with JSON.
"""

import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import requests

# Answers worth asking again: rate limited, or the server in trouble.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """The source cannot be read: a refused key, an unknown page, an unreachable host, an
    answer that is not JSON. ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    """A 404: the object (or the page) does not exist at the source."""


class ManageClient:
    """Reads one page of a manage API v1 server.

    Sends ``Authorization: OAuth <key>``; retries connection failures, 429 and 5xx up to
    ``retries`` times, waiting what ``Retry-After`` says (capped at ``max_wait``) or an
    exponential backoff. ``sleep`` is the clock's wait (a test may record it).
    """

    def __init__(
        self,
        base_url: str,
        page_id: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_id = page_id
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"OAuth {api_key}", "Accept": "application/json"}
        )

    @property
    def page_url(self) -> str:
        """The page's URL at the source (the prefix of every request)."""
        return f"{self.base_url}/pages/{self.page_id}"

    def close(self) -> None:
        self.session.close()

    def get(self, path: str, params: Mapping[str, str | int] | None = None) -> Any:
        """GET ``path`` (relative to the page, "" for the page itself) and return its JSON."""
        url = f"{self.page_url}{path}"
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt >= self.retries:
                    raise ApiError(f"Cannot reach {url}: {_reason(exc)}.") from exc
                self.sleep(self._backoff(attempt))
                attempt += 1
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self.sleep(self._wait(response, attempt))
                attempt += 1
                continue
            return self._json(response, url)

    def _json(self, response: requests.Response, url: str) -> Any:
        status = response.status_code
        if status == 401:
            raise ApiError(
                f"{self.base_url} refused the API key (401): check --api-key.", status=status
            )
        if status == 403:
            raise ApiError(
                f"The API key may not read {url} (403): use a key of the page's owner.",
                status=status,
            )
        if status == 404:
            raise NotFound(f"Not found at the source (404): {url}.", status=status)
        if status >= 400:
            raise ApiError(f"{url} answered {status}: {_snippet(response)}", status=status)
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{url} did not answer JSON: {_snippet(response)}", status=status
            ) from None

    def _backoff(self, attempt: int) -> float:
        return float(min(self.backoff * 2**attempt, self.max_wait))

    def _wait(self, response: requests.Response, attempt: int) -> float:
        """What ``Retry-After`` asks (seconds or an HTTP date), else the backoff."""
        value = (response.headers.get("Retry-After") or "").strip()
        if value:
            if value.isdigit():
                return float(min(int(value), self.max_wait))
            try:
                when = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                seconds = (when - datetime.now(UTC)).total_seconds()
                return float(min(max(seconds, 0.0), self.max_wait))
        return self._backoff(attempt)

    def pages(
        self,
        path: str,
        *,
        size_param: str = "per_page",
        size: int = 100,
        first: int = 1,
        params: Mapping[str, str | int] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page of the list at ``path``, in order, until a short or empty page.

        The manage API numbers pages from 1 (``page``/``per_page``; incidents use
        ``limit``), subscribers from 0 (a server that refuses page 0 with a 400 is read
        from 1). The walk ends at the first empty page (a server may send fewer rows than
        asked for before the end); a server that ignores paging and answers the same rows
        again ends it too, instead of looping."""
        seen: set[str] = set()
        number, repeated = first, 0
        while True:
            query = {**(params or {}), "page": number, size_param: size}
            try:
                rows = self.get(path, query)
            except ApiError as exc:
                if exc.status == 400 and number == 0:
                    # Numbered from 1 after all (the description says 0 for subscribers).
                    number = 1
                    continue
                raise
            if not isinstance(rows, list):
                raise ApiError(f"{self.page_url}{path} did not answer a list (page {number}).")
            if not rows:
                return
            fresh = [row for row in rows if not isinstance(row, dict) or _id(row) not in seen]
            seen.update(_id(row) for row in rows if isinstance(row, dict))
            # Two pages in a row with nothing new: the server ignores paging. (One may
            # happen where page 0 and page 1 are both the first page.)
            repeated = 0 if fresh else repeated + 1
            if repeated >= 2:
                return
            if fresh:
                yield fresh
            number += 1


def _id(row: dict[str, Any]) -> str:
    return str(row.get("id"))


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed (is the host right and up?)"
    return type(exc).__name__


def _snippet(response: requests.Response) -> str:
    text = " ".join(response.text.split())
    return text[:200] or "(empty body)"
