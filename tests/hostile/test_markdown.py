"""Any accepted body renders, and in work linear in its size: the shapes that make the
Markdown parser super-linear (runs of brackets, unclosed link targets, deep nesting) are
neutralised before the parser sees them, and ordinary Markdown is left as it was."""

import re

import pytest
from markdown.inlinepatterns import LinkInlineProcessor

from statusportal import limits
from statusportal import markdown as sp_markdown
from statusportal.markdown import MAX_NESTING, MAX_PREFIX, neutralise, render_markdown

N = limits.MAX_UPDATE_BODY_LENGTH
# Each hostile shape, of about n characters.
SHAPES = {
    "open brackets": lambda n: "[" * n,
    "spaced open brackets": lambda n: "[ " * (n // 2),
    "closing brackets": lambda n: "]" * n,
    "images": lambda n: "![" * (n // 2),
    "footnote refs": lambda n: "[^" * (n // 2),
    "unclosed targets": lambda n: "[a](" * (n // 4),
    "parentheses": lambda n: "(" * n,
    "deep brackets": lambda n: "[" * (n // 2) + "]" * (n // 2),
    "brackets behind a code span": lambda n: "`a` " + "[" * n,
    "brackets in an unclosed span": lambda n: "`" + "[" * n + "\n\n`",
    "brackets across a quote": lambda n: "`a\n> " + "[" * n + "\n`",
    "abbreviations": lambda n: "*[a]: b\n" * (n // 8) + "a " * 100,
    "deep list": lambda n: "".join("  " * i + "- x\n" for i in range(n // 200)),
    "deep tab list": lambda n: "".join("\t" * i + "* x\n" for i in range(n // 100)),
    "deep quote": lambda n: "".join(">" * i + " x\n" for i in range(n // 100)),
    "list markers": lambda n: "- " * (n // 2),
}
HOSTILE = {name: shape(N) for name, shape in SHAPES.items()}


def unescaped(text: str, char: str) -> list[int]:
    return [
        m.start(1) for m in re.finditer(r"(?:\\.)|(" + re.escape(char) + ")", text) if m.group(1)
    ]


def max_depth(text: str) -> int:
    depth = deepest = 0
    for match in re.finditer(r"\\.|([\[\]])", text, re.DOTALL):
        if match.group(1) == "[":
            depth += 1
            deepest = max(deepest, depth)
        elif match.group(1) == "]":
            depth -= 1
            assert depth >= 0, "a closing bracket without its opener"
    assert depth == 0, "an opening bracket without its partner"
    return deepest


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_shapes_reach_the_parser_paired_shallow_and_flat(name):
    text = neutralise(HOSTILE[name])
    assert max_depth(text) <= MAX_NESTING
    assert len(unescaped(text, "(")) == len(unescaped(text, ")"))
    for line in text.splitlines():
        prefix = re.match(r"[ \t>*+\-]*", line).group()
        assert len(prefix) <= MAX_PREFIX + 2


def test_the_parser_is_handed_the_neutralised_text(monkeypatch):
    handed = []

    class Recorder:
        def reset(self):
            return self

        def convert(self, text):
            handed.append(text)
            return ""

    monkeypatch.setattr(sp_markdown, "_converter", Recorder)
    render_markdown("[" * 100)
    assert handed == [neutralise("[" * 100)] == ["\\[" * 100]


def link_scanning_work(monkeypatch, text: str) -> int:
    """How many characters the parser's link scanner walks to render ``text``: it walks
    forward from each "[" to its partner (or to the end when there is none)."""
    walked = 0
    original = LinkInlineProcessor.getText

    def counting(self, data, index):
        nonlocal walked
        found, end, handled = original(self, data, index)
        walked += (end if handled else len(data)) - index
        return found, end, handled

    with monkeypatch.context() as patch:
        patch.setattr(LinkInlineProcessor, "getText", counting)
        render_markdown(text)
    return walked


@pytest.mark.parametrize("name", SHAPES)
def test_link_scanning_work_grows_linearly_with_the_body(monkeypatch, name):
    # Before neutralising, twice the "[" made the scanner walk four times as far (20 KB:
    # ~200 million characters, seconds of a worker); now twice the body, twice the walk.
    small = link_scanning_work(monkeypatch, SHAPES[name](N // 4))
    large = link_scanning_work(monkeypatch, SHAPES[name](N // 2))
    assert large <= 2.2 * small + 1000


@pytest.mark.parametrize("name", HOSTILE)
def test_every_hostile_shape_renders(name):
    html = render_markdown(HOSTILE[name])
    assert isinstance(html, str)


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("See [the docs](https://example.com/a_(b)).", '<a href="https://example.com/a_(b)"'),
        ("[ref][1]\n\n[1]: https://example.com", '<a href="https://example.com"'),
        ("Array `a[0` is unused (really", "<code>a[0</code>"),
        ("Unclosed [bracket and (paren", "<p>Unclosed [bracket and (paren</p>"),
        ("```\n[[[[[[ (((\n```", "[[[[[[ ((("),
        ("- a\n    - b\n        - c", "<li>c</li>"),
        ("> quoted", "<blockquote>"),
    ],
)
def test_ordinary_markdown_renders_as_before(source, html):
    assert html in render_markdown(source)


def test_unmatched_brackets_in_prose_are_left_as_they_were():
    assert neutralise("plain text, [a](b) and (c)") == "plain text, [a](b) and (c)"


def test_plain_text_has_no_entities():
    assert sp_markdown.markdown_to_text("5 > 3 & 2 < 4 <b>bold</b>") == "5 > 3 & 2 < 4 bold"
