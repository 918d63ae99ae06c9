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
MAX_PIXELS = 40_000_000  # 40 MP: any real photo; Pillow's own bomb limit is ~179 MP
ColorMode = str  # "rgb" or "grayscale"


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
        max_pixels: refuse images with more pixels than this.

    Raises:
        ImageDecodeError: with ``code`` ``unsupported_format``, ``image_too_large`` or
            ``undecodable_image``, and a message that says what to do.
    """
    raw = Path(data).read_bytes() if isinstance(data, (str, Path)) else data
    if not raw:
        raise ImageDecodeError("undecodable_image", "The file is empty: upload an image file.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(raw))
            _check_header(img, max_pixels)
            if size is not None and img.format == "JPEG":
                img.draft("RGB" if color_mode == "rgb" else "L", (size[1], size[0]))
            img.load()  # decode everything now, inside the guard
            img = _to_mode(ImageOps.exif_transpose(img), color_mode)
        except ImageDecodeError:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ImageDecodeError(
                "image_too_large",
                f"The image has too many pixels ({exc}). Resize it below "
                f"{max_pixels:,} pixels and try again.",
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageDecodeError(
                "undecodable_image",
                f"The file could not be decoded as an image ({type(exc).__name__}: {exc}). "
                "Upload a complete JPEG, PNG, WebP, GIF or BMP file.",
            ) from exc
    if size is not None and img.size != (size[1], size[0]):
        img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[..., None] if arr.ndim == 2 else arr


def _check_header(img: Image.Image, max_pixels: int) -> None:
    if img.format not in ALLOWED_FORMATS:
        raise ImageDecodeError(
            "unsupported_format",
            f"Image format {img.format or 'unknown'} is not accepted. "
            f"Use one of: {', '.join(sorted(ALLOWED_FORMATS))}.",
        )
    w, h = img.size
    if w * h > max_pixels or w <= 0 or h <= 0:
        raise ImageDecodeError(
            "image_too_large",
            f"The image is {w}x{h} = {w * h:,} pixels; the limit is {max_pixels:,}. "
            "Resize it and try again.",
        )
    if getattr(img, "n_frames", 1) > 1:
        img.seek(0)  # animated GIF/WebP: the first frame only


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
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba).convert("RGB")
    if color_mode == "grayscale":
        return img.convert("L")
    if color_mode != "rgb":
        raise ValueError(f"color_mode must be 'rgb' or 'grayscale', not {color_mode!r}")
    return img.convert("RGB")  # CMYK, YCbCr, L, 1 and RGB all land here


def load_images(paths: list[Path], size: tuple[int, int], color_mode: ColorMode = "rgb"
                ) -> np.ndarray:
    """Decode many image files into one ``uint8`` batch of shape (N, H, W, C)."""
    channels = 3 if color_mode == "rgb" else 1
    out = np.empty((len(paths), size[0], size[1], channels), dtype=np.uint8)
    for i, path in enumerate(paths):
        out[i] = decode_image(path, color_mode=color_mode, size=size)
    return out
