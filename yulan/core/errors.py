"""The one domain error. Services raise it; views and the API turn it into a 4xx in one place."""

from django.utils.functional import Promise


class ApplicationError(Exception):
    """A request that cannot be done as asked. `field` names the input at fault, if any;
    `status` is the HTTP status it maps to."""

    def __init__(self, message: str | Promise, *, field: str | None = None, status: int = 400) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.status = status


class NotAllowed(ApplicationError):
    def __init__(self, message: str | Promise) -> None:
        super().__init__(message, status=403)
