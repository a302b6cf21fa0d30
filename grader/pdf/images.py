"""JPEG and PNG pages (photos of a handwritten sheet) made into one PDF, in the child process.

Pillow refuses an image past the pixel limit before decoding it (a PNG decompression bomb), and
each page is saved at most ``max_render_pixels`` large.
"""

from __future__ import annotations

from typing import Any

__all__ = ["images_to_pdf"]


def images_to_pdf(paths: list[str], out: str, limits: dict[str, Any]) -> dict[str, Any]:
    from PIL import Image, ImageOps

    if len(paths) > limits["max_pages"]:
        return {"refused": f"{len(paths)} images; at most {limits['max_pages']} pages are read"}
    Image.MAX_IMAGE_PIXELS = limits["max_image_pixels"]
    pages = []
    for path in paths:
        name = path.rsplit("/", 1)[-1]
        try:
            with Image.open(path) as image:
                if image.format not in ("JPEG", "PNG"):
                    return {"refused": f"{name} is not a JPEG or PNG image"}
                if image.width * image.height > limits["max_image_pixels"]:
                    raise Image.DecompressionBombError(name)
                page = ImageOps.exif_transpose(image).convert("RGB")
                page.thumbnail((4000, 4000))
                pages.append(page)
        except Image.DecompressionBombError:
            return {
                "refused": f"{name} has more than {limits['max_image_pixels'] / 1e6:.0f} megapixels: take "
                "the photo at a lower resolution"
            }
        except (OSError, ValueError, SyntaxError) as exc:
            return {"refused": f"{name} cannot be read as an image ({str(exc)[:120]})"}
    if not pages:
        return {"refused": "no page image was handed in"}
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=150.0)
    return {"written": [out]}
