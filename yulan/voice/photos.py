"""Photos sent with feedback: checked to be an image, re-encoded without their metadata (a
phone's photo carries where and when it was taken, and the camera's serial number) and kept
out of the public media folder: they are served through a view that checks who may see them."""

import io
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from yulan.core.errors import ApplicationError

# MPO: the multi-picture JPEG many phone cameras write (the first picture is the photo).
ACCEPTED_FORMATS = {"JPEG", "MPO", "PNG", "WEBP", "GIF"}
MAX_SIDE = 2048
# Decoded, an image takes 3-4 bytes a pixel whatever its file size: refuse more than a large
# phone photo before decoding it (Pillow itself only warns below twice its own limit).
MAX_PIXELS = 50_000_000


def clean(upload: UploadedFile) -> bytes:
    """The photo as a JPEG without metadata, at most MAX_SIDE pixels a side; refused with a
    message naming the problem if it is too large or not an image."""
    limit = settings.YULAN_FEEDBACK_PHOTO_MAX_BYTES
    if upload.size is not None and upload.size > limit:
        raise ApplicationError(
            _("The photo is too large (at most %(mb)s MB).") % {"mb": round(limit / 1_000_000, 1)}, field="photo"
        )
    try:
        with Image.open(upload) as probe:
            if probe.format not in ACCEPTED_FORMATS:
                raise ApplicationError(_("Send the photo as a JPEG, PNG, WebP or GIF image."), field="photo")
            if probe.width * probe.height > min(MAX_PIXELS, Image.MAX_IMAGE_PIXELS or MAX_PIXELS):
                raise ApplicationError(_("The photo has too many pixels: send a smaller one."), field="photo")
            probe.verify()
        upload.seek(0)
        with Image.open(upload) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                rgba = upright.convert("RGBA")
                picture = Image.new("RGB", rgba.size, (255, 255, 255))
                picture.paste(rgba, mask=rgba.getchannel("A"))
            else:
                picture = upright.convert("RGB")
    except ApplicationError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        raise ApplicationError(_("This file is not an image we can read."), field="photo") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85, optimize=True)
    return out.getvalue()


def store(data: bytes) -> str:
    """Keep the cleaned photo; returns its storage name."""
    return default_storage.save(f"feedback/{secrets.token_urlsafe(12)}.jpg", ContentFile(data))


def delete(name: str) -> None:
    if name:
        default_storage.delete(name)
