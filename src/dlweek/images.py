"""Decode image files into pixel arrays, safely: the one decoder for training and serving.

Everything that turns bytes into pixels goes through :func:`decode_image`, so a photo gives
the same array in a training pipeline, in an evaluation and behind the web service. It treats
its input as hostile: only the formats listed in :data:`ALLOWED_FORMATS`, a pixel limit far
below Pillow's default, decompression-bomb warnings raised as errors, the whole file decoded
inside the guard, EXIF orientation applied, transparency composited on white, and every mode
(grayscale, palette, CMYK, 16-bit) converted correctly.

Example:
    >>> import io
    >>> from PIL import Image
    >>> buf = io.BytesIO(); Image.new("RGB", (4, 3), "red").save(buf, "PNG")
    >>> decode_image(buf.getvalue()).shape
    (3, 4, 3)
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "GIF", "BMP"})
MAX_PIXELS = 40_000_000  # 40 MP: any real photo; Pillow's own bomb limit is ~89 MP (warning)
ColorMode = str  # "rgb" or "grayscale"
COLOR_MODES = ("rgb", "grayscale")

# Pillow *warns* (DecompressionBombWarning) above ``Image.MAX_IMAGE_PIXELS`` and only raises at
# twice that. Make the warning an error for the whole process: ``warnings.catch_warnings`` is
# not thread-safe (the service decodes in many threads at once), so a per-call filter could be
# undone by another thread mid-decode. ``decode_image`` also checks the pixel count itself,
# against a limit that is never above Pillow's, so no bomb is decoded even if someone resets
# the warning filters.
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

# Formats Pillow (or a browser) might be handed that dlweek refuses, recognised by their first
# bytes so that the answer is "unsupported format" rather than "not an image". Only the allowed
# formats' parsers ever see the bytes (``Image.open(..., formats=ALLOWED_FORMATS)``).
_OTHER_FORMATS: tuple[tuple[int, bytes, str], ...] = (
    (0, b"II*\x00", "TIFF"), (0, b"MM\x00*", "TIFF"), (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x01\x00", "ICO"), (0, b"%PDF", "PDF"), (0, b"%!PS", "EPS"),
    (0, b"\xc5\xd0\xd3\xc6", "EPS"), (0, b"<?xml", "SVG/XML"), (0, b"<svg", "SVG"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG 2000"), (0, b"\xff\x4f\xff\x51", "JPEG 2000"),
    (0, b"\xff\x0a", "JPEG XL"), (0, b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
    (4, b"ftypheic", "HEIC"), (4, b"ftypheix", "HEIC"), (4, b"ftypmif1", "HEIF"),
    (4, b"ftypavif", "AVIF"), (0, b"qoif", "QOI"), (0, b"DDS ", "DDS"),
    (0, b"icns", "ICNS"), (0, b"\x59\xa6\x6a\x95", "Sun raster"),
)


class ImageDecodeError(ValueError):
    """The bytes are not an image dlweek accepts. ``code`` is a snake_case reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decode_image(
    data: bytes | str | Path,
    *,
    color_mode: ColorMode = "rgb",
    size: tuple[int, int] | None = None,
    max_pixels: int = MAX_PIXELS,
) -> np.ndarray:
    """Decode image bytes (or a file path) into a ``uint8`` array of shape (H, W, C).

    Args:
        data: the encoded image, or a path to one.
        color_mode: ``"rgb"`` (3 channels) or ``"grayscale"`` (1 channel).
        size: optional ``(height, width)`` to resize to (bilinear, Pillow), as the models
            expect; JPEGs are decoded at reduced scale first when much larger (draft mode).
        max_pixels: refuse images with more pixels than this (never more than Pillow's own
            ``Image.MAX_IMAGE_PIXELS``).

    Raises:
        ImageDecodeError: with ``code`` ``unsupported_format``, ``image_too_large`` or
            ``undecodable_image``, and a message that says what to do.
        ValueError: ``color_mode`` or ``size`` is invalid (a programming error, not bad input).
    """
    if color_mode not in COLOR_MODES:
        raise ValueError(f"color_mode must be 'rgb' or 'grayscale', not {color_mode!r}")
    if size is not None and (len(size) != 2 or min(size) <= 0):
        raise ValueError(f"size must be (height, width) with positive values, not {size!r}")
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else bytes(data)
    if not raw:
        raise ImageDecodeError("undecodable_image", "The file is empty: upload an image file.")
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    try:
        img = Image.open(io.BytesIO(raw), formats=sorted(ALLOWED_FORMATS))
        _check_header(img, limit)
        if size is not None and img.format == "JPEG":
            # Decode big JPEGs at 1/2, 1/4 or 1/8 scale (still >= the target size). The
            # target is in display orientation; the draft works on the stored one.
            h, w = size
            if _exif_orientation(img) in (5, 6, 7, 8):
                h, w = w, h
            img.draft("RGB" if color_mode == "rgb" else "L", (w, h))
        img.load()  # decode everything now, inside the guard
        img = _to_mode(ImageOps.exif_transpose(img), color_mode)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise ImageDecodeError(
            "image_too_large",
            f"The image has too many pixels ({exc}). Resize it below "
            f"{limit:,} pixels and try again.",
        ) from exc
    except UnidentifiedImageError as exc:
        other = _sniff_other_format(raw)
        if other is not None:
            raise ImageDecodeError(
                "unsupported_format",
                f"Image format {other} is not accepted. Convert it to one of: "
                f"{', '.join(sorted(ALLOWED_FORMATS))}.",
            ) from exc
        raise ImageDecodeError(
            "undecodable_image",
            "The file is not an image dlweek can read (no JPEG, PNG, WebP, GIF or BMP "
            "signature). Upload a complete image file.",
        ) from exc
    except Exception as exc:  # noqa: BLE001 -- hostile input: Pillow's parsers raise
        # OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError,
        # TypeError, ZeroDivisionError ... on malformed files; every one is bad input.
        raise ImageDecodeError(
            "undecodable_image",
            f"The file could not be decoded as an image ({type(exc).__name__}: {exc}). "
            "Upload a complete JPEG, PNG, WebP, GIF or BMP file.",
        ) from exc
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _sniff_other_format(raw: bytes) -> str | None:
    """Name a known image format that dlweek refuses, from the file's first bytes."""
    for offset, magic, name in _OTHER_FORMATS:
        if raw[offset:offset + len(magic)] == magic:
            return name
    if raw[:2] in (b"P1", b"P2", b"P3", b"P4", b"P5", b"P6", b"P7") and raw[2:3].isspace():
        return "PNM"
    return None


def _exif_orientation(img: Image.Image) -> int:
    """The EXIF orientation tag (1 when absent)."""
    try:
        return int(img.getexif().get(0x0112, 1) or 1)
    except (TypeError, ValueError):
        return 1


def _check_header(img: Image.Image, max_pixels: int) -> None:
    if img.format not in ALLOWED_FORMATS:  # cannot happen with formats=..., kept as a guard
        raise ImageDecodeError(
            "unsupported_format",
            f"Image format {img.format or 'unknown'} is not accepted. "
            f"Use one of: {', '.join(sorted(ALLOWED_FORMATS))}.",
        )
    w, h = img.size
    if w <= 0 or h <= 0:
        raise ImageDecodeError("undecodable_image",
                               f"The image claims a size of {w}x{h} pixels; it is corrupt.")
    if w * h > max_pixels:
        raise ImageDecodeError(
            "image_too_large",
            f"The image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}. "
            "Resize it and try again.",
        )
    # Animated GIF/WebP/PNG: Pillow opens on the first frame, which is the one used. (Do not
    # ask for ``n_frames``: for GIF it walks every frame of the file.)


def _to_mode(img: Image.Image, color_mode: ColorMode) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB or L, compositing transparency on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16/32-bit grayscale: scale the real range to 0..255 (a plain convert clips to white).
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        img = Image.fromarray(np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    elif img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        img = Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    if img.mode in ("P", "L", "RGB") and "transparency" in img.info:
        img = img.convert("RGBA")  # palette or tRNS transparency: composite it below
    elif img.mode == "P":
        img = img.convert("RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
    if color_mode == "grayscale":
        return img.convert("L")
    return img.convert("RGB")  # CMYK, YCbCr, L, 1 and RGB all land here


def load_images(paths: list[Path], size: tuple[int, int], color_mode: ColorMode = "rgb"
                ) -> np.ndarray:
    """Decode many image files into one ``uint8`` batch of shape (N, H, W, C)."""
    channels = 3 if color_mode == "rgb" else 1
    out = np.empty((len(paths), size[0], size[1], channels), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = decode_image(path, color_mode=color_mode, size=size)
    return out
