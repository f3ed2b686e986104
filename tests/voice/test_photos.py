"""Photos sent with feedback: only images are taken, re-encoded as JPEG without the metadata a
phone writes into them (where, when, which camera), turned upright, and kept small."""

import io
import warnings

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from yulan.core.errors import ApplicationError
from yulan.voice import photos

from .conftest import jpeg_bytes

ORIENTATION = 0x0112
MAKE = 0x010F
GPS_IFD = 0x8825


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def refused(data: bytes, **kwargs) -> ApplicationError:
    with pytest.raises(ApplicationError) as exc:
        photos.clean(upload(data, **kwargs))
    assert exc.value.field == "photo"
    return exc.value


@pytest.mark.parametrize(
    ("fmt", "mode", "options"),
    [
        ("JPEG", "RGB", {}),
        ("JPEG", "CMYK", {}),
        ("PNG", "RGB", {}),
        ("PNG", "RGBA", {}),
        ("PNG", "P", {}),
        ("PNG", "L", {}),
        ("WEBP", "RGB", {"quality": 80}),
        ("WEBP", "RGBA", {"lossless": True}),
        ("GIF", "P", {}),
    ],
)
def test_jpeg_png_webp_and_gif_become_a_jpeg(fmt, mode, options):
    data = encoded(Image.new(mode, (64, 48)), fmt, **options)
    image = opened(photos.clean(upload(data)))
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (64, 48))


def test_the_colours_survive():
    image = opened(photos.clean(upload(jpeg_bytes(size=(40, 30)))))
    red, green, blue = image.getpixel((20, 15))
    assert abs(red - 200) < 12 and abs(green - 80) < 12 and abs(blue - 40) < 12


def test_the_metadata_is_gone():
    original = jpeg_bytes()
    assert opened(original).getexif()[MAKE] == "PhoneMaker"  # the test photo does carry it
    assert opened(original).getexif().get_ifd(GPS_IFD)
    cleaned = photos.clean(upload(original))
    image = opened(cleaned)
    exif = image.getexif()
    assert MAKE not in exif and GPS_IFD not in exif and not exif.get_ifd(GPS_IFD)
    assert "exif" not in image.info
    assert b"PhoneMaker" not in cleaned and b"Exif" not in cleaned


def test_png_text_chunks_are_gone():
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Comment", "taken at 31.2010N 121.4090E by Ana")
    cleaned = photos.clean(upload(encoded(Image.new("RGB", (20, 20)), "PNG", pnginfo=info)))
    assert b"121.4090" not in cleaned and b"Ana" not in cleaned


@pytest.mark.parametrize(("orientation", "size"), [(1, (60, 40)), (3, (60, 40)), (6, (40, 60)), (8, (40, 60))])
def test_the_photo_is_turned_as_the_camera_said(orientation, size):
    image = Image.new("RGB", (60, 40), (255, 255, 255))
    image.paste((255, 0, 0), (0, 0, 10, 10))  # a red corner, top left as stored
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    result = opened(photos.clean(upload(encoded(image, "JPEG", exif=exif))))
    assert result.size == size
    assert ORIENTATION not in result.getexif()
    corners = {
        "top left": (2, 2),
        "top right": (size[0] - 3, 2),
        "bottom left": (2, size[1] - 3),
        "bottom right": (size[0] - 3, size[1] - 3),
    }
    red = [name for name, at in corners.items() if result.getpixel(at)[0] > 200 and result.getpixel(at)[1] < 80]
    # Orientation 6 is "turn 90° clockwise to view": the stored top left ends up top right.
    expected = {1: "top left", 3: "bottom right", 6: "top right", 8: "bottom left"}[orientation]
    assert red == [expected]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not a picture",
        b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
        b"\xff\xd8\xff\xe0" + b"\x00" * 40,  # a JPEG's first bytes and nothing else
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 30,
    ],
)
def test_what_is_not_an_image_is_refused_with_a_clear_message(data):
    error = refused(data)
    assert "not an image" in error.message
    assert error.status == 400


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_a_truncated_image_is_refused(fmt):
    noisy = Image.effect_noise((200, 200), 64).convert("RGB")
    data = encoded(noisy, fmt)
    error = refused(data[: len(data) // 2])
    assert "not an image" in error.message


@pytest.mark.parametrize(("fmt", "mode"), [("BMP", "RGB"), ("TIFF", "RGB"), ("ICO", "RGBA")])
def test_other_image_formats_are_refused_naming_the_accepted_ones(fmt, mode):
    error = refused(encoded(Image.new(mode, (32, 32)), fmt))
    assert "JPEG, PNG, WebP or GIF" in error.message


def test_an_oversized_file_is_refused_before_it_is_read(settings):
    data = jpeg_bytes(size=(200, 200))
    settings.YULAN_FEEDBACK_PHOTO_MAX_BYTES = len(data) - 1
    error = refused(data)
    assert "too large" in error.message
    settings.YULAN_FEEDBACK_PHOTO_MAX_BYTES = len(data)
    assert photos.clean(upload(data))


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    # 100 × 100 = 10,000 pixels: more than twice the limit, from a file of a few hundred bytes.
    for fmt in ("PNG", "JPEG", "GIF"):
        data = encoded(Image.new("RGB" if fmt != "GIF" else "P", (100, 100)), fmt)
        assert len(data) < 2000
        refused(data)


def test_an_image_over_the_pixel_limit_is_refused_even_where_pillow_only_warns(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    data = encoded(Image.new("RGB", (40, 40)), "PNG")  # 1,600 pixels: over the limit, under twice it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # as in production
        refused(data)


@pytest.mark.parametrize(("size", "scaled"), [((4000, 1000), (2048, 512)), ((900, 3000), (614, 2048))])
def test_a_large_photo_is_scaled_to_2048_pixels_a_side(size, scaled):
    image = opened(photos.clean(upload(encoded(Image.new("RGB", size, (10, 120, 200)), "PNG"), name="big.png")))
    assert image.size == scaled
    assert max(image.size) <= photos.MAX_SIDE == 2048


def test_a_small_photo_is_not_enlarged():
    assert opened(photos.clean(upload(jpeg_bytes(size=(20, 10))))).size == (20, 10)


def test_an_animated_gif_keeps_its_first_frame():
    frames = [Image.new("P", (30, 30), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert opened(photos.clean(upload(out.getvalue()))).size == (30, 30)


def test_transparent_parts_are_laid_on_white():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    image.paste((0, 0, 0, 255), (5, 5, 15, 15))  # black writing on a transparent page
    result = opened(photos.clean(upload(encoded(image, "PNG"))))
    assert min(result.getpixel((1, 1))) > 240
    assert max(result.getpixel((10, 10))) < 20


def test_stored_photos_are_kept_apart_and_can_be_deleted():
    data = photos.clean(upload(jpeg_bytes()))
    first, second = photos.store(data), photos.store(data)
    assert first != second
    assert first.startswith("feedback/") and first.endswith(".jpg")
    assert not first.startswith(("/", "media/"))
    with default_storage.open(first) as stored:
        assert stored.read() == data
    photos.delete(first)
    photos.delete("")  # nothing stored: nothing to do
    assert not default_storage.exists(first) and default_storage.exists(second)
    photos.delete(second)


def test_a_multi_picture_jpeg_from_a_phone_is_taken():
    main, depth = Image.new("RGB", (40, 30), (200, 80, 40)), Image.new("RGB", (40, 30), (9, 9, 9))
    data = encoded(main, "MPO", save_all=True, append_images=[depth])
    assert data[:3] == b"\xff\xd8\xff"  # a JPEG file, as far as the phone and the person know
    image = opened(photos.clean(upload(data)))
    assert (image.format, image.size) == ("JPEG", (40, 30))
