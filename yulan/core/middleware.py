from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from yulan.core.errors import ApplicationError


class ApplicationErrorMiddleware:
    """Turns a domain error that escaped a view into a page with its message and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            return render(request, "error.html", {"message": exception.message}, status=exception.status)
        return None
