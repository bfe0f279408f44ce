"""Status colours meet WCAG AA (4.5:1) as text on the page and under white text, in
light mode, and as text on the dark surfaces in dark mode."""

import re
from pathlib import Path

import pytest

CSS = (
    Path(__file__).resolve().parents[1] / "statusportal/static/statusportal/status.css"
).read_text()
LIGHT, DARK = CSS.split("prefers-color-scheme: dark", 1)
STATUS = ["ok", "minor", "major", "critical", "maint", "muted", "link"]


def colours(block: str) -> dict[str, str]:
    return dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6})", block))


def contrast(a: str, b: str) -> float:
    def lum(h: str) -> float:
        rgb = [int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted([lum(a), lum(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("name", STATUS)
def test_light_mode_colour_is_readable_on_the_page_and_under_white_text(name):
    light = colours(LIGHT)
    for background in (light["surface"], light["bg"], "#ffffff"):
        assert contrast(light[name], background) >= 4.5, (name, background)


@pytest.mark.parametrize("name", STATUS)
def test_dark_mode_colour_is_readable_on_the_dark_surfaces(name):
    dark = colours(DARK)
    for background in (dark["surface"], dark["bg"]):
        assert contrast(dark[name], background) >= 4.5, (name, background)


CONSOLE_CSS = (
    Path(__file__).resolve().parents[1] / "incidents/static/incidents/console.css"
).read_text()
# "selectors { background: #xxxxxx; color: #xxx }": the console's badges.
BADGE_RULE = re.compile(
    r"([^{}]+)\{\s*background:\s*(#[0-9a-fA-F]{6});\s*color:\s*(#[0-9a-fA-F]{3,6});\s*\}"
)


def badges() -> list[tuple[str, str, str]]:
    found = []
    for selectors, background, colour in BADGE_RULE.findall(CONSOLE_CSS):
        if len(colour) == 4:
            colour = "#" + "".join(c * 2 for c in colour[1:])
        found.append((" ".join(selectors.split("*/")[-1].split()), background, colour))
    return found


def test_every_status_and_impact_has_a_badge_colour():
    selectors = " ".join(s for s, _, _ in badges())
    for name in ("investigating", "identified", "monitoring", "resolved", "scheduled"):
        assert f".status-{name}" in selectors
    for name in ("critical", "major", "minor", "maintenance"):
        assert f".impact-{name}" in selectors


@pytest.mark.parametrize(("selectors", "background", "colour"), badges())
def test_console_badges_are_readable_in_the_admin(selectors, background, colour):
    """The badges keep their own colours in the admin's light and dark themes."""
    assert contrast(colour, background) >= 4.5, selectors
