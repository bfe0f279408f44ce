"""ETag and 304 for the API's reads: a client polling ``/api/v1/incidents/`` every few
seconds sends ``If-None-Match`` and gets an empty 304 while nothing changed.

Django's ConditionalGetMiddleware does exactly this (a strong ETag from the content,
304 when it matches); here it is limited to ``/api/v1/`` so that the public pages keep
their own validators (docs/architecture.md, "The page cache").
"""

from django.http import HttpRequest, HttpResponseBase
from django.middleware.http import ConditionalGetMiddleware

PREFIX = "/api/v1/"


class ApiConditionalGetMiddleware(ConditionalGetMiddleware):
    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if not request.path.startswith(PREFIX):
            return response
        return super().process_response(request, response)
