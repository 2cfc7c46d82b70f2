"""A small DOM for tests of the web view: parses HTML (ours, or Chromium's --dump-dom) into
nodes, insisting that every element is closed where it should be."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    def elements(self) -> list[Node]:
        """Every element below this one, in document order."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                found.append(child)
                found += child.elements()
        return found

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements named ``tag`` (any: None) whose attributes equal ``attrs``
        (``class_`` for class, ``data_key`` for data-key)."""
        wanted = {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}
        return [node for node in self.elements() if (tag is None or node.tag == tag)
                and all(node.attrs.get(name) == value for name, value in wanted.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        """The one element that matches (AssertionError if not exactly one)."""
        found = self.find_all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag}> {attrs}"
        return found[0]

    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return " ".join(" ".join(parts).split())


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        open_tag = self.stack[-1].tag
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The document's root (its one child element is ``html``)."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert builder.stack == [builder.root], [n.tag for n in builder.stack]
    return builder.root
