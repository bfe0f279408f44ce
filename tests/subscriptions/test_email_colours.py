"""Every colour the HTML emails draw text in meets WCAG AA (4.5:1) against what it is
drawn on: the element's own background where it sets one (the confirm button), else the
email's (the <body> of templates/emails/_layout_start.html)."""

import re
from pathlib import Path

import pytest

from tests.test_pages_contrast import contrast

EMAILS = Path(__file__).resolve().parents[2] / "templates/emails"
STYLE = re.compile(r'style="([^"]*)"')
# "color:" alone, not "border-color:" or "background-color:".
COLOUR = re.compile(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{3,6})\b")
BACKGROUND = re.compile(r"(?<![-\w])background(?:-color)?:\s*(#[0-9a-fA-F]{3,6})\b")


def full(hex_colour: str) -> str:
    """#abc -> #aabbcc."""
    digits = hex_colour[1:]
    return "#" + (digits if len(digits) == 6 else "".join(c * 2 for c in digits))


def email_background() -> str:
    body = re.search(r"<body [^>]*>", (EMAILS / "_layout_start.html").read_text()).group(0)
    return full(BACKGROUND.search(body).group(1))


def text_colours() -> list[tuple[str, str, str]]:
    """(template, text colour, background) for every style that sets a text colour."""
    page = email_background()
    found = []
    for template in sorted(EMAILS.glob("*.html")):
        for style in STYLE.findall(template.read_text()):
            colour = COLOUR.search(style)
            if colour:
                background = BACKGROUND.search(style)
                found.append(
                    (
                        template.name,
                        full(colour.group(1)),
                        full(background.group(1)) if background else page,
                    )
                )
    return found


def test_the_emails_set_their_background_and_draw_text_in_several_colours():
    assert email_background() == "#ffffff"
    colours = text_colours()
    # The body text, grey notes, the footer and the confirm button at least.
    assert {colour for _, colour, _ in colours} >= {"#222222", "#666666", "#595959", "#ffffff"}


@pytest.mark.parametrize(("template", "colour", "background"), text_colours())
def test_email_text_colour_meets_wcag_aa(template, colour, background):
    assert contrast(colour, background) >= 4.5, (template, colour, background)
