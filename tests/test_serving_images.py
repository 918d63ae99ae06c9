"""Hostile and unusual image files, generated here: the decoder and the HTTP answers.

Each file goes through ``dlweek.images.decode_image`` and through ``POST /api/v1/predict``
(the tiny model says "bright" for light images, "dark" for dark ones), asserting the pixels,
the status code and the error code.
"""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serving_fixtures import encode, make_app

from dlweek.images import ImageDecodeError, decode_image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def png_raw(width: int, height: int, bit_depth: int, color_type: int, rows: bytes | None
            ) -> bytes:
    """A PNG written by hand (16-bit, or a huge header with almost no data)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(rows if rows is not None else b"\0" * 64)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def png16_gray(value: int, size: int = 16) -> bytes:
    row = b"\0" + struct.pack(">H", value) * size
    return png_raw(size, size, 16, 0, row * size)


def png16_rgb(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    row = b"\0" + struct.pack(">HHH", *rgb) * size
    return png_raw(size, size, 16, 2, row * size)


def gif_header(width: int, height: int) -> bytes:
    """A GIF whose one frame claims ``width`` x ``height`` pixels, with almost no data."""
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return (b"GIF89a" + struct.pack("<HH", width, height) + b"\x80\x00\x00" + b"\0" * 6
            + frame + b"\x02\x02\x44\x01\x00" + b";")


def exif_jpeg(size: tuple[int, int], orientation: int) -> bytes:
    """Stored image: left half red, right half blue; EXIF says how to rotate it."""
    w, h = size
    img = Image.new("RGB", size, (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, w // 2, h))
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(img, "JPEG", quality=95, exif=exif.tobytes())


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (20, 20), (250, 250, 250)), Image.new("RGB", (20, 20), (0, 0, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


WHITE, BLACK = (250, 250, 250), (5, 5, 5)
GOOD: dict[str, tuple[bytes, str]] = {
    "jpeg": (encode(Image.new("RGB", (50, 40), WHITE), "JPEG"), "bright"),
    "png": (encode(Image.new("RGB", (50, 40), BLACK), "PNG"), "dark"),
    "webp": (encode(Image.new("RGB", (50, 40), WHITE), "WEBP", quality=90), "bright"),
    "bmp": (encode(Image.new("RGB", (50, 40), BLACK), "BMP"), "dark"),
    "gif_first_frame": (animated_gif(), "bright"),
    "rgba_transparent_on_white": (encode(Image.new("RGBA", (30, 30), (0, 0, 0, 0)), "PNG"),
                                  "bright"),
    "rgba_opaque_black": (encode(Image.new("RGBA", (30, 30), (0, 0, 0, 255)), "PNG"), "dark"),
    "la_transparent": (encode(Image.new("LA", (30, 30), (0, 0)), "PNG"), "bright"),
    "palette_transparent": (encode(Image.new("P", (30, 30), 0), "PNG", transparency=0),
                            "bright"),
    "palette": (encode(Image.new("RGB", (30, 30), BLACK).convert("P"), "PNG"), "dark"),
    "grayscale": (encode(Image.new("L", (30, 30), 240), "PNG"), "bright"),
    "bilevel": (encode(Image.new("1", (30, 30), 0), "PNG"), "dark"),
    "cmyk_jpeg": (encode(Image.new("CMYK", (30, 30), (0, 0, 0, 255)), "JPEG"), "dark"),
    "png16_gray_dark": (png16_gray(3000), "dark"),  # a naive convert() makes this white
    "png16_gray_bright": (png16_gray(60000), "bright"),
    "png16_rgb_dark": (png16_rgb((2000, 3000, 4000)), "dark"),
    "webp_rgba_transparent": (encode(Image.new("RGBA", (30, 30), (0, 0, 0, 0)), "WEBP",
                                     lossless=True), "bright"),
}
BAD: dict[str, tuple[bytes, int, str]] = {
    "random_bytes": (np.random.default_rng(0).bytes(2048), 400, "undecodable_image"),
    "text": (b"hello, I am not an image\n" * 10, 400, "undecodable_image"),
    "truncated_jpeg": (encode(Image.effect_noise((300, 300), 60).convert("RGB"), "JPEG")[:900],
                       400, "undecodable_image"),
    "truncated_png": (encode(Image.effect_noise((200, 200), 60), "PNG")[:500], 400,
                      "undecodable_image"),
    "png_bad_crc": (encode(Image.new("RGB", (8, 8)), "PNG")[:30] + b"\0\0\0\0"
                    + encode(Image.new("RGB", (8, 8)), "PNG")[34:], 400, "undecodable_image"),
    "jpeg_header_only": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", 400, "undecodable_image"),
    "tiff": (encode(Image.new("RGB", (8, 8)), "TIFF"), 415, "unsupported_format"),
    "ico": (encode(Image.new("RGB", (16, 16)), "ICO"), 415, "unsupported_format"),
    "ppm": (encode(Image.new("RGB", (8, 8)), "PPM"), 415, "unsupported_format"),
    "pdf": (b"%PDF-1.4\n%...\n", 415, "unsupported_format"),
    "svg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', 415,
            "unsupported_format"),
    "png_bomb_header": (png_raw(30000, 30000, 8, 2, None), 413, "image_too_large"),
    "png_over_limit": (png_raw(8000, 6000, 8, 0, None), 413, "image_too_large"),
    "gif_bomb_header": (gif_header(65535, 65535), 413, "image_too_large"),
    "png_zero_width": (png_raw(0, 10, 8, 0, None), 400, "undecodable_image"),
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    app = make_app(tmp_path_factory.mktemp("bundles"))
    yield app.test_client()
    app.extensions["dlweek"].close()


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_files_are_classified(client, name: str) -> None:  # noqa: ANN001
    data, want = GOOD[name]
    arr = decode_image(data)
    assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3
    resp = client.post("/api/v1/predict", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["predictions"][0]["label"] == want


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_get_the_right_error(client, name: str) -> None:  # noqa: ANN001
    data, status, code = BAD[name]
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data)
    assert info.value.code == code
    resp = client.post("/api/v1/predict", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
    raw = client.post("/api/v1/predict", data=data, content_type="image/png")
    assert raw.status_code == status and raw.get_json()["error"]["code"] == code


def test_16bit_values_are_scaled_not_clipped() -> None:
    assert decode_image(png16_gray(3000))[0, 0, 0] == round(3000 / 65535 * 255)
    assert decode_image(png16_gray(65535))[0, 0, 0] == 255
    np.testing.assert_allclose(decode_image(png16_rgb((2000, 30000, 65535)))[0, 0],
                               [8, 117, 255], atol=1)
    gray = decode_image(png16_gray(30000), color_mode="grayscale")
    assert gray.shape == (16, 16, 1) and abs(int(gray[0, 0, 0]) - 117) <= 1


def test_transparency_is_composited_on_white() -> None:
    half = Image.new("RGBA", (10, 10), (0, 0, 0, 128))
    px = decode_image(encode(half, "PNG"))[0, 0]
    assert all(abs(int(v) - 127) <= 2 for v in px)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_with_and_without_resize(orientation: int) -> None:
    data = exif_jpeg((400, 200), orientation)
    full = decode_image(data)
    rotated = orientation in (6, 8)
    assert full.shape[:2] == ((400, 200) if rotated else (200, 400))
    red = np.array([255, 0, 0])
    corners = {"top": full[5, full.shape[1] // 2], "bottom": full[-5, full.shape[1] // 2],
               "left": full[full.shape[0] // 2, 5], "right": full[full.shape[0] // 2, -5]}
    red_side = {1: "left", 3: "right", 6: "top", 8: "bottom"}[orientation]
    assert np.abs(corners[red_side].astype(int) - red).max() < 40
    small = decode_image(data, size=(64, 32) if rotated else (32, 64))
    assert small.shape == ((64, 32, 3) if rotated else (32, 64, 3))


def test_big_jpeg_uses_draft_mode_and_stays_correct() -> None:
    img = Image.new("RGB", (4000, 3000), (200, 30, 30))
    data = encode(img, "JPEG", quality=80)
    t0 = time.perf_counter()
    small = decode_image(data, size=(160, 160))
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    decode_image(data)
    slow = time.perf_counter() - t0
    assert small.shape == (160, 160, 3)
    assert np.abs(small.reshape(-1, 3).mean(0) - [200, 30, 30]).max() < 6
    assert fast < slow  # decoded at 1/8 scale


def test_pixel_limits() -> None:
    data = encode(Image.new("RGB", (200, 200)), "PNG")
    with pytest.raises(ImageDecodeError) as info:
        decode_image(data, max_pixels=10_000)
    assert info.value.code == "image_too_large" and "10,000" in str(info.value)
    # Between Pillow's warning (89 MP) and error (179 MP) thresholds: still refused, even when
    # the caller's own limit is higher.
    with pytest.raises(ImageDecodeError) as info:
        decode_image(png_raw(10000, 10000, 8, 0, None), max_pixels=10**9)
    assert info.value.code == "image_too_large"


def test_service_pixel_limit_is_configurable(tmp_path: Path) -> None:
    app = make_app(tmp_path, max_pixels=50 * 50)
    try:
        client = app.test_client()
        ok = encode(Image.new("RGB", (50, 50), WHITE), "PNG")
        big = encode(Image.new("RGB", (51, 50), WHITE), "PNG")
        assert client.post("/api/v1/predict", data=ok, content_type="image/png").status_code == 200
        resp = client.post("/api/v1/predict", data=big, content_type="image/png")
        assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "image_too_large"
    finally:
        app.extensions["dlweek"].close()


def test_invalid_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="color_mode"):
        decode_image(b"x", color_mode="rgba")
    with pytest.raises(ImageDecodeError):
        decode_image(b"")
