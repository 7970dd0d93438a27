"""Looking at a rendered email in headless Chromium as a person would, but measured.

``look`` opens an HTML file at one width and colour scheme, saves screenshots
under tests/artifacts/email/ for a person to look at, and measures what a person
checks by eye: sideways scrolling, the width of the column, the left edges of
the lines of a block, remote loads, and the contrast of each kind of text
against its background (WCAG 2 relative luminance; AA asks for 4.5:1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from playwright.async_api import Browser

from tests.conftest import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "email"
Scheme = Literal["light", "dark"]
# Desktop and phone; the phone once more in dark mode (clients that honour prefers-color-scheme).
VIEWS: list[tuple[str, int, Scheme]] = [
    ("desktop", 1280, "light"),
    ("phone", 390, "light"),
    ("phone-dark", 390, "dark"),
]
WCAG_AA = 4.5

_MEASURE = """([parts, aligned]) => {
  const luminance = (color) => {
    const [r, g, b] = color.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const color = getComputedStyle(node).backgroundColor;
      if (color !== 'rgba(0, 0, 0, 0)' && color !== 'transparent') return color;
    }
    return 'rgb(255, 255, 255)';
  };
  const contrast = (element) => {
    const [a, b] = [luminance(getComputedStyle(element).color), luminance(background(element))];
    return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  };
  const missing = parts.filter((part) => !document.querySelector(part));
  const block = document.querySelector(aligned);
  return {
    scroll: document.documentElement.scrollWidth,
    column: document.querySelector('.card').getBoundingClientRect().width,
    card_background: getComputedStyle(document.querySelector('.card')).backgroundColor,
    // Where the text of each line of the block starts: inside padding and border.
    edges: [...block.querySelectorAll(':scope > h1, :scope > h2, :scope > p, :scope > table')]
      .map((e) => {
        const style = getComputedStyle(e);
        return Math.round(e.getBoundingClientRect().left + parseFloat(style.paddingLeft)
                          + parseFloat(style.borderLeftWidth));
      }),
    missing: missing,
    contrast: Object.fromEntries(
      parts.filter((p) => !missing.includes(p)).map((p) => [p, contrast(document.querySelector(p))])
    ),
    counts: {
      titles: document.querySelectorAll('h2 a').length,
      marks: document.querySelectorAll('mark').length,
      images: document.images.length,
    },
  };
}"""


@dataclass(frozen=True)
class Look:
    view: str
    width: int
    scheme: Scheme
    scroll: int
    column: float
    card_background: str
    edges: list[int]
    missing: list[str]
    contrast: dict[str, float]
    counts: dict[str, int]
    requested: list[str]

    def problems(self) -> list[str]:
        """What a careful reader would complain about, one line each."""
        found = []
        if self.scroll > self.width:
            found.append(f"the page scrolls sideways ({self.scroll} px in {self.width} px)")
        if self.column > 600:
            found.append(f"the column is {self.column} px wide")
        if len(set(self.edges)) > 1:
            found.append(f"the lines of a block start at different places: {self.edges}")
        if self.missing:
            found.append(f"missing: {self.missing}")
        low = {part: round(ratio, 2) for part, ratio in self.contrast.items() if ratio < WCAG_AA}
        if low:
            found.append(f"text below contrast {WCAG_AA}:1: {low}")
        dark = self.card_background != "rgb(255, 255, 255)"
        if dark is not (self.scheme == "dark"):
            found.append(f"{self.scheme} mode shows a card background of {self.card_background}")
        if self.requested:
            found.append(f"remote loads: {self.requested}")
        return [f"{self.view}: {problem}" for problem in found]


async def look(
    browser: Browser, html: Path, name: str, *, parts: Sequence[str], aligned: str
) -> list[Look]:
    """Open ``html`` in every view; screenshots go to tests/artifacts/email/<name>-<view>.png
    (the whole email) and <name>-<view>-top.png (the first screen)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    looks = []
    for view, width, scheme in VIEWS:
        page = await browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        requested: list[str] = []
        page.on("request", lambda request, seen=requested: seen.append(request.url))
        await page.goto(html.as_uri())
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{view}.png"), full_page=True)
        await page.screenshot(path=str(SCREENSHOTS / f"{name}-{view}-top.png"))
        measured: dict[str, Any] = await page.evaluate(_MEASURE, [list(parts), aligned])
        await page.close()
        remote = [url for url in requested if url != html.as_uri()]
        looks.append(Look(view, width, scheme, requested=remote, **measured))
    return looks
