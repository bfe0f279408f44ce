"""Markdown as customers see it: rendered, then sanitised with an allow-list.

Python-Markdown is super-linear on a few input shapes: for every ``[`` it scans ahead for
the matching ``]`` (and for every ``](`` for the matching ``)``), so a few KB of ``[``
take seconds and 20 KB ties up a worker until it is killed. ``neutralise`` removes those
shapes before the parser sees the text, in one linear pass: a bracket or parenthesis that
has no partner, or that nests deeper than ``MAX_NESTING``, can start no link, so it is
backslash-escaped, which renders as the character itself. Fenced code blocks are left as
they are (the parser does not look for links in them). A line's block prefix (nested
lists and quotes) is cut to ``MAX_PREFIX`` characters, since each level is a level of
recursion in the parser. A tag start (``<a``, ``</``, ``<!``, ``<http:``) not closed on
its line is written as ``&lt;``: the parser's HTML scanner looks for the end of each
unclosed tag to the end of the text. A heading line (setext underline, rule, ``#``) ends
its block: the parser splits each heading off its block and joins the rest again. Bodies
are also bounded in length (``statusportal.limits``), so every accepted body renders in
time about linear in its size (the worst shapes measured: ~0.5 s for a 20 KB update, ~3 s
for a 100 KB postmortem, rendered once when saved).
"""

import html
import re
import threading

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}

# Brackets (and parentheses) nested deeper than this are taken literally: no link needs
# more than a couple of levels, and each level costs the parser a scan of the text.
MAX_NESTING = 4

# A line's block prefix (indentation, quote markers, list markers) is cut to this many
# characters: each level of nested lists or quotes costs the parser a level of recursion,
# and a few thousand levels exhaust Python's stack (a 500). Four levels fit easily.
MAX_PREFIX = 24

# A tag start (``<a ...``) not closed within this many characters on its line is taken
# literally: the parser's HTML scanner looks for the end of every unclosed tag to the end
# of the text, so a run of them costs it quadratic time.
MAX_TAG = 500

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_PREFIX = re.compile(r"(?:[ \t>]|[-*+](?=[ \t])|\d{1,9}[.)](?=[ \t]))+")
_BRACKETS = re.compile(r"\\.|[\[\]()]", re.DOTALL)
_PAIRS = {"]": "[", ")": "("}
_BACKTICKS = re.compile(r"(?<!\\)`+")
# The start of a tag, a comment, a declaration or an autolink.
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# A line that could underline a setext heading (or be a thematic break).
# A line that ends a block by itself: a setext underline (or a thematic break), or an ATX
# heading.
_BLOCK_END = re.compile(r"^ {0,3}(?:(?:=+|-+)[ \t]*$|#{1,6}(?:[ \t]|$))")

# "extra" without "abbr": its definitions (``*[x]: y``) are compiled into one regex per
# text that grows with their number (a few thousand take many seconds), and the <abbr>
# it produces is not an allowed tag anyway.
EXTENSIONS = [
    "fenced_code",
    "tables",
    "def_list",
    "footnotes",
    "attr_list",
    "md_in_html",
    "sane_lists",
    "nl2br",
]

_local = threading.local()


def _converter() -> md.Markdown:
    # Building a Markdown instance loads its extensions (importlib, regex compilation):
    # ~5x the cost of converting a short update. Reuse one per thread (instances are not
    # thread-safe); reset() clears the state of the previous conversion.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(extensions=EXTENSIONS)
    return converter


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` has inline code spans (a run of backticks to the next run of the same
    length), as sorted ``(start, end)`` ranges. Only spans within one line count: taking
    less for code than the parser does only escapes a few more brackets."""
    spans: list[tuple[int, int]] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        runs = [(m.start(), m.end()) for m in _BACKTICKS.finditer(line)]
        by_length: dict[int, list[int]] = {}
        for index in range(len(runs) - 1, -1, -1):
            start, end = runs[index]
            by_length.setdefault(end - start, []).append(index)
        index = 0
        while index < len(runs):
            start, end = runs[index]
            later = by_length[end - start]
            while later and later[-1] <= index:
                later.pop()
            if later:
                partner = later.pop()
                spans.append((offset + start, offset + runs[partner][1]))
                index = partner + 1
            else:
                index += 1
        offset += len(line)
    return spans


def _unclosed_tags(text: str, code: list[tuple[int, int]]) -> list[int]:
    """Where ``text`` (one paragraph) has a ``<`` that looks like the start of a tag or an
    autolink but is not closed by a ``>`` on its line, before the next ``<`` and within
    ``MAX_TAG`` characters; outside code spans and indented lines. Linear: each look-ahead
    is bounded."""
    found = []
    in_code = 0
    line_start = searched = 0
    for match in _TAG_START.finditer(text):
        position = match.start()
        while in_code < len(code) and code[in_code][1] <= position:
            in_code += 1
        if in_code < len(code) and code[in_code][0] <= position:
            continue
        newline = text.rfind("\n", searched, position)  # each character looked at once
        searched = position
        if newline >= 0:
            line_start = newline + 1
        if text.startswith(("    ", "\t"), line_start):
            continue  # indented code: shown as typed, never HTML
        window = text[position + 1 : position + 1 + MAX_TAG]
        closing = window.find(">")
        if closing < 0 or any(c in window[:closing] for c in "<\n"):
            found.append(position)
    return found


def _escape_unpaired(text: str) -> str:
    """``text`` (one paragraph) with every bracket or parenthesis outside code spans that
    has no partner, or nests deeper than ``MAX_NESTING``, backslash-escaped, and every
    unclosed tag start written as ``&lt;``. Linear; backslash escapes are kept."""
    stacks: dict[str, list[tuple[int, bool]]] = {"[": [], "(": []}
    escape: list[int] = []
    code = _code_spans(text)
    unclosed = set(_unclosed_tags(text, code))
    escape.extend(unclosed)
    in_code = 0
    for match in _BRACKETS.finditer(text):
        char = match.group()
        if len(char) == 2:  # an existing escape: the parser takes it literally already
            continue
        position = match.start()
        while in_code < len(code) and code[in_code][1] <= position:
            in_code += 1
        if in_code < len(code) and code[in_code][0] <= position:
            continue  # inside `code`: shown as typed, never a link
        if char in stacks:
            stack = stacks[char]
            too_deep = len(stack) >= MAX_NESTING
            stack.append((position, too_deep))
            continue
        stack = stacks[_PAIRS[char]]
        if not stack:
            escape.append(position)
            continue
        opener, too_deep = stack.pop()
        if too_deep:
            escape.extend((opener, position))
    for stack in stacks.values():
        escape.extend(position for position, _ in stack)
    if not escape:
        return text
    escape.sort()
    parts = []
    last = 0
    for position in escape:
        parts.append(text[last:position])
        if position in unclosed:
            parts.append("&lt;")  # Markdown has no backslash escape for "<"
            last = position + 1
        else:
            parts.append("\\")
            last = position
    parts.append(text[last:])
    return "".join(parts)


def neutralise(text: str) -> str:
    """``text`` as handed to the parser: outside fenced code blocks, unpaired or too deeply
    nested brackets and parentheses escaped (paragraph by paragraph, as the parser pairs
    them) and block prefixes cut (see the module docstring)."""
    out: list[str] = []
    paragraph: list[str] = []
    fence: str | None = None

    def flush() -> None:
        out.append(_escape_unpaired("".join(paragraph)))
        paragraph.clear()

    for line in text.splitlines(keepends=True):
        opening = _FENCE.match(line)
        if fence is None and opening:
            flush()
            fence = opening.group(1)
            out.append(line)
        elif fence is not None:
            out.append(line)
            closing = _FENCE.match(line)
            if closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence):
                fence = None
        elif not line.strip():
            flush()
            out.append(line)
        else:
            prefix = _PREFIX.match(line)
            if prefix and prefix.end() > MAX_PREFIX:
                line = line[:MAX_PREFIX] + line[prefix.end() :]
            paragraph.append(line)
            if _BLOCK_END.match(line):
                # The parser splits a heading off its block and joins the rest again, once
                # per heading: ending the block here keeps that linear, and renders the
                # same (a heading or a rule ends its block anyway).
                flush()
                out.append("\n")
    flush()
    return "".join(out)


def render_markdown(text: str) -> SafeString:
    """HTML for ``text``: Markdown with raw HTML and scripts removed, links made safe."""
    html_ = _converter().reset().convert(neutralise(text or ""))
    clean = nh3.clean(
        html_,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )
    return mark_safe(clean)  # sanitised by nh3 just above


def markdown_to_text(text: str) -> str:
    """Plain text for emails and feeds' summaries: the Markdown source without HTML tags,
    with entities turned back into characters (``>`` stays ``>``, not ``&gt;``)."""
    return html.unescape(nh3.clean(text or "", tags=set()))
