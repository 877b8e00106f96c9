"""Teams cards as Teams draws them: Microsoft's `adaptivecards` JavaScript renderer (npm, pinned in
tests/render/package-lock.json) in headless Chromium (the Debian `chromium` package).

Chromium is driven by its own command line, `--dump-dom` to read what render.js measured and `--screenshot` for
PNGs: no browser driver library, so nothing to keep in step with the browser's version, and one Chromium start
renders and measures every card. `make test` installs Chromium and the npm packages first (Makefile
`render-tools`); `node_modules()` also runs `npm ci` itself when Node is there and the packages are not.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
SCRIPTS = (
    NODE_MODULES / "markdown-it" / "dist" / "markdown-it.min.js",  # Teams renders markdown in text blocks
    NODE_MODULES / "adaptivecards" / "dist" / "adaptivecards.min.js",
)
STYLES = NODE_MODULES / "adaptivecards" / "dist" / "adaptivecards.css"
# Teams' message column on a desktop, and a phone.
WIDTHS = (450, 340)
PAGE_MARGIN = 12
MIN_WINDOW = 400
_RESULTS = re.compile(r'<pre id="results"[^>]*>(.*?)</pre>', re.DOTALL)


@dataclass
class Button:
    title: str
    cut: bool  # the renderer ended it with an ellipsis: the person can't read it all
    top: int  # pixels from the top of the card


@dataclass
class Rendered:
    index: int  # which card
    width: int
    events: list[str]  # the renderer's warnings and errors, as it words them
    buttons: list[Button]
    inputs: dict[str, int | None]  # input id -> the maxLength of the box drawn (None: no limit)
    too_wide: bool  # something is wider than the card
    height: int
    text: str  # what a person reads on it


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def missing() -> str | None:
    """Why cards can't be rendered here, or None when they can (installing the npm packages if need be)."""
    if chromium() is None:
        return "Chromium is not installed (`apt-get install chromium`, or `make test`, which installs it)"
    if all(p.exists() for p in SCRIPTS):
        return None
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return "Node.js is not installed, so the adaptivecards renderer can't be (`apt-get install nodejs npm`)"
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, capture_output=True, timeout=300)
    return None


def _page(cards: list[dict[str, Any]], widths: tuple[int, ...], mode: str) -> str:
    def data(id_: str, value: Any) -> str:
        text = json.dumps(value).replace("</", "<\\/")
        return f'<script type="application/json" id="{id_}">{text}</script>'

    host_config = json.loads((HERE / "teams-host-config.json").read_text())
    scripts = "".join(f'<script src="{p.as_uri()}"></script>' for p in SCRIPTS)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{STYLES.as_uri()}">'
        "<style>body{margin:0;background:#f5f5f5;font-family:'Segoe UI','Liberation Sans',Arial,sans-serif}"
        f"#chat{{padding:{PAGE_MARGIN}px}}.holder{{background:#fff;border-radius:6px;margin-bottom:{PAGE_MARGIN}px;"
        "box-shadow:0 1px 2px rgba(0,0,0,.15);overflow:hidden}"
        # A form button's chevron, from an icon font Chromium doesn't have here, as a character it has.
        ".ac-pushButton.expandable:after{font-family:inherit;font-size:12px;content:' \\25BE'}"
        ".ac-pushButton.expandable.expanded:after{content:' \\25B4'}</style></head><body>"
        '<div id="chat"></div><pre id="results" hidden></pre>'
        f"{data('cards', cards)}{data('widths', list(widths))}{data('mode', mode)}{data('host-config', host_config)}"
        f'{scripts}<script src="{(HERE / "render.js").as_uri()}"></script></body></html>'
    )


def _run_chromium(page: str, *flags: str) -> str:
    browser = chromium()
    assert browser is not None, "Chromium is not installed"
    with tempfile.TemporaryDirectory(prefix="eoi-render-") as tmp:
        path = Path(tmp) / "cards.html"
        path.write_text(page, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",  # tests and CI run as root
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            # A test reaches nothing but this page: no updates, sync or sign-in calls to the internet.
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            f"--user-data-dir={tmp}/profile",
            *flags,
            path.as_uri(),
        ]
        env = {**os.environ, "LANG": "en_GB.UTF-8"}
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
        return done.stdout


def render(cards: list[dict[str, Any]], widths: tuple[int, ...] = WIDTHS) -> tuple[list[Rendered], list[str]]:
    """Every card at every width, in one Chromium; and problems not tied to a card (script errors)."""
    dom = _run_chromium(_page(cards, widths, "check"), "--window-size=1000,800", "--dump-dom")
    found = _RESULTS.search(dom)
    if not found or not found.group(1).strip():
        raise RuntimeError(f"the render page wrote no results: {dom[-2000:]}")
    data = json.loads(html.unescape(found.group(1)))
    rendered = [
        Rendered(
            index=r["index"],
            width=r["width"],
            events=r["events"],
            buttons=[Button(**b) for b in r["buttons"]],
            inputs=r["inputs"],
            too_wide=r["tooWide"],
            height=r["height"],
            text=r["text"],
        )
        for r in data["results"]
    ]
    return rendered, data["problems"]


def screenshot(card: dict[str, Any], width: int, out: Path) -> Path:
    """A PNG of one card at `width`, as it sits in a Teams chat."""
    [measured], _ = render([card], (width,))
    size = (width + 2 * PAGE_MARGIN, measured.height + 2 * PAGE_MARGIN)
    out.parent.mkdir(parents=True, exist_ok=True)
    # Every tile painted before the picture is taken (a tall card otherwise has blank squares); and a window
    # at least MIN_WINDOW tall (a shorter one comes out blank), cut to the card afterwards.
    flags = ("--run-all-compositor-stages-before-draw", "--virtual-time-budget=3000")
    window = f"--window-size={size[0]},{max(size[1], MIN_WINDOW)}"
    _run_chromium(_page([card], (width,), "shot"), window, *flags, f"--screenshot={out.resolve()}")
    with Image.open(out) as picture:
        cut = picture.crop((0, 0, *size))
    cut.save(out, optimize=True)
    return out
