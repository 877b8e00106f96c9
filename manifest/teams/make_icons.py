"""Draw the two Teams app icons (run by hand; the PNGs it writes are committed).

    python manifest/teams/make_icons.py

Teams wants two icons in the app package:

- color.png: 192x192, full colour. A teal rounded square with white "EOI".
- outline.png: 32x32, white (#FFFFFF) on a fully transparent background; Teams tints it
  itself, so any other colour (even an anti-aliased grey fringe) is rejected.

Both are drawn at 4x and scaled down, which gives smooth edges without a bundled font file.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
TEAL = (0, 122, 135)  # #007A87, also the manifest's accentColor
WHITE = (255, 255, 255)
SCALE = 4  # supersampling factor


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow >= 10.1 ships a scalable default font when FreeType is available; fall back to
    # the fixed bitmap font otherwise (still legible, just small).
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # pragma: no cover - very old Pillow / no FreeType
        return ImageFont.load_default()


def make_color(size: int = 192) -> Image.Image:
    big = size * SCALE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 6, fill=(*TEAL, 255))

    # Largest font size whose "EOI" fits in ~70% of the width, then centre it optically.
    text = "EOI"
    target = big * 0.70
    font_size = big // 2
    font = _font(font_size)
    while font_size > 8:
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= target:
            break
        font_size -= 4
        font = _font(font_size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (big - (right - left)) / 2 - left
    y = (big - (bottom - top)) / 2 - top - big * 0.04
    draw.text((x, y), text, font=font, fill=(*WHITE, 255))

    # A short underline under the letters: reads as "a form to fill in" at small sizes.
    bar_w, bar_h = big * 0.46, big * 0.045
    bar_y = big * 0.74
    draw.rounded_rectangle(
        ((big - bar_w) / 2, bar_y, (big + bar_w) / 2, bar_y + bar_h),
        radius=int(bar_h / 2),
        fill=(*WHITE, 255),
    )
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_outline(size: int = 32) -> Image.Image:
    # Draw only a coverage mask, then use it as the alpha of a pure-white image. That way
    # every pixel's RGB is exactly white and only alpha varies, which is the Teams rule.
    big = size * SCALE
    mask = Image.new("L", (big, big), 0)
    draw = ImageDraw.Draw(mask)
    stroke = 2 * SCALE
    pad = 3 * SCALE
    # A form: rounded page outline with three "lines" of text, the last one short.
    draw.rounded_rectangle(
        (pad, pad - SCALE, big - pad - 1, big - pad + SCALE - 1),
        radius=4 * SCALE,
        outline=255,
        width=stroke,
    )
    line_left = pad + 5 * SCALE
    for i, right in enumerate((big - pad - 5 * SCALE, big - pad - 5 * SCALE, big // 2 + SCALE)):
        y = pad + (6 + 6 * i) * SCALE
        draw.rounded_rectangle((line_left, y, right, y + stroke), radius=SCALE, fill=255)
    mask = mask.resize((size, size), Image.Resampling.LANCZOS)
    img = Image.new("RGBA", (size, size), (*WHITE, 0))
    img.putalpha(mask)
    return img


def main() -> None:
    make_color().save(HERE / "color.png", optimize=True)
    make_outline().save(HERE / "outline.png", optimize=True)
    print(f"wrote {HERE / 'color.png'} and {HERE / 'outline.png'}")


if __name__ == "__main__":
    main()
