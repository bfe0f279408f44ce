"""Any accepted body renders, and in work linear in its size: the shapes that make the
Markdown parser super-linear (runs of brackets, unclosed link targets, deep nesting) are
neutralised before the parser sees them, and ordinary Markdown is left as it was."""

import re

import pytest
from markdown.blockprocessors import HashHeaderProcessor, SetextHeaderProcessor
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
    "unclosed tags": lambda n: "<a " * (n // 3),
    "unclosed blocks": lambda n: "<div " * (n // 5),
    "unclosed autolinks": lambda n: "<http://" * (n // 8),
    "unclosed attributes": lambda n: "<a href='" * (n // 9),
    "unclosed end tags": lambda n: "</" * (n // 2),
    "unclosed declarations": lambda n: "<!" * (n // 2),
    "tags cut by lines": lambda n: "<a\n" * (n // 3),
    "setext underlines": lambda n: "=\n" * (n // 2),
    "rule lines": lambda n: "-\n" * (n // 2),
    "setext headings": lambda n: "a\n=\n" * (n // 4),
    "atx headings": lambda n: "# a\n" * (n // 4),
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


UNCLOSED_TAG = re.compile(r"<[A-Za-z/!?][^<>\n]*(?:$|[<\n])")


@pytest.mark.parametrize("name", HOSTILE)
def test_no_unclosed_tag_reaches_the_parser(name):
    # The parser's HTML scanner looks for the end of every unclosed tag to the end of the
    # text (seconds for 20 KB of "<a "); neutralised, each is written as "&lt;".
    assert not UNCLOSED_TAG.search(neutralise(HOSTILE[name]))


def heading_work(monkeypatch, text: str) -> int:
    """How many characters the parser's heading processors are handed to render ``text``:
    each heading is split off its block and the rest of the block handed on."""
    handed = 0

    def counting(processor):
        original = processor.run

        def run(self, parent, blocks):
            nonlocal handed
            handed += len(blocks[0])
            return original(self, parent, blocks)

        return run

    with monkeypatch.context() as patch:
        for processor in (SetextHeaderProcessor, HashHeaderProcessor):
            patch.setattr(processor, "run", counting(processor))
        render_markdown(text)
    return handed


@pytest.mark.parametrize(
    "name", ["setext underlines", "rule lines", "setext headings", "atx headings"]
)
def test_heading_work_grows_linearly_with_the_body(monkeypatch, name):
    # Before, each heading handed the rest of its block on: 20 KB of "# a" lines made
    # the processors read ~50 million characters; now each heading ends its block.
    small = heading_work(monkeypatch, SHAPES[name](N // 4))
    large = heading_work(monkeypatch, SHAPES[name](N // 2))
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
        ("Title\n=====\nText", "<h1>Title</h1>\n<p>Text</p>"),
        ("# One\nText\n## Two\nMore", "<h1>One</h1>\n<p>Text</p>\n<h2>Two</h2>\n<p>More</p>"),
        (
            "Use <b>bold</b> and <https://example.com>",
            '<b>bold</b> and <a href="https://example.com"',
        ),
        ("Latency < 5 ms and a<b", "Latency &lt; 5 ms and a&lt;b"),
        ("A stray <tag without end", "A stray &lt;tag without end"),
        ("`<a` in code", "<code>&lt;a</code>"),
    ],
)
def test_ordinary_markdown_renders_as_before(source, html):
    assert html in render_markdown(source)


def test_unmatched_brackets_in_prose_are_left_as_they_were():
    assert neutralise("plain text, [a](b) and (c)") == "plain text, [a](b) and (c)"


def test_plain_text_has_no_entities():
    assert sp_markdown.markdown_to_text("5 > 3 & 2 < 4 <b>bold</b>") == "5 > 3 & 2 < 4 bold"
