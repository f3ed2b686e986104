"""QR codes for tickets, drawn as inline SVG (no image files, sharp at any size)."""

import segno
from django.utils.safestring import SafeString, mark_safe


def svg(data: str, *, title: str) -> SafeString:
    code = segno.make(data, error="m", micro=False)
    # svg_inline writes only the code's own markup (and escapes the title, which names it for
    # screen readers).
    markup = code.svg_inline(scale=6, border=4, dark="#000", light="#fff", title=title)
    return mark_safe(markup.replace("<svg ", '<svg role="img" class="qr" ', 1))  # noqa: S308
