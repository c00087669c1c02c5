"""A small HTML tree for tests (standard library only): find elements, read their text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list = field(default_factory=list)  # Node or str

    @property
    def text(self) -> str:
        """The element's text, whitespace collapsed."""
        parts = []

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                else:
                    walk(child)

        walk(self)
        return " ".join("".join(parts).split())

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find_all(self, tag: str | None = None, *, cls: str | None = None, **attrs) -> list[Node]:
        """Descendants with ``tag``, the class ``cls`` and these attributes (``_`` for ``-``)."""
        found = []
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}

        def walk(node):
            for child in node.children:
                if isinstance(child, str):
                    continue
                if ((tag is None or child.tag == tag)
                        and (cls is None or cls in child.classes)
                        and all(child.attrs.get(k) == v for k, v in wanted.items())):
                    found.append(child)
                walk(child)

        walk(self)
        return found

    def find(self, tag: str | None = None, **kwargs) -> Node:
        """The first such descendant; fails the test when there is none."""
        found = self.find_all(tag, **kwargs)
        assert found, f"no <{tag}> {kwargs} in the page"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(html: str | bytes) -> Node:
    builder = _Builder()
    builder.feed(html.decode() if isinstance(html, bytes) else html)
    return builder.root
