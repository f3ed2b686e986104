"""CSV files opened in spreadsheets: cells that cannot run as formulas, and a writer that streams."""

from typing import Any


def safe_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class Echo:
    """A file-like object whose `write` hands the line back, for `csv.writer` in a streamed
    response."""

    def write(self, value: str) -> str:
        return value
