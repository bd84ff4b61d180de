"""The one ruamel.yaml setup: round-trip load/dump that keeps the user's formatting.

Files the user owns are loaded and dumped with the indentation detected from the file itself,
so a merge changes nothing but the inserted lines. Comments placed before the first ``---``
(the guide's ``# manifests/...`` path comments) are kept as a preamble, since ruamel.yaml would
drop them.

Every load is bounded (:func:`guard`): at most :data:`MAX_BYTES` of text and
:data:`MAX_EXPANDED_NODES` nodes once aliases are expanded, so an alias bomb (a few hundred bytes
that expand to billions of nodes) is refused instead of exhausting memory. Answers and state files
may not use anchors or aliases at all (:func:`refuse_aliases`).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent, ScalarEvent

MAX_BYTES = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 2_000_000


class YamlRefused(ValueError):
    """The text is too large, expands too much, or uses aliases where none are allowed."""


def _events(text: str) -> Iterable[Any]:
    events: Iterable[Any] = YAML(typ="safe", pure=True).parse(text)
    return events


def _expanded_nodes(text: str, limit: int, source: str) -> None:
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]
    total = 0
    for ev in _events(text):
        if isinstance(ev, ScalarEvent):
            n = 1
            if ev.anchor:
                sizes[ev.anchor] = 1
            stack[-1][1] += n
            total += n
        elif isinstance(ev, AliasEvent):
            n = sizes.get(ev.anchor, 1)
            stack[-1][1] += n
            total += n
        elif isinstance(ev, CollectionStartEvent):
            stack.append([ev.anchor, 1])
            total += 1
        elif isinstance(ev, CollectionEndEvent) and len(stack) > 1:
            anchor, n = stack.pop()
            if anchor:
                sizes[anchor] = n
            stack[-1][1] += n
        if total > limit or stack[-1][1] > limit:
            raise YamlRefused(
                f"{source} expands to more than {limit:,} YAML nodes through its aliases (*name) - an alias bomb, "
                "or a file that is not a manifest - so edge-wizard will not load it."
            )


def guard(text: str, source: str = "<yaml>", *, limit: int = MAX_EXPANDED_NODES) -> None:
    """Refuse (YamlRefused) text larger than MAX_BYTES or expanding beyond ``limit`` nodes."""
    if len(text) > MAX_BYTES:
        raise YamlRefused(
            f"{source} is larger than {MAX_BYTES // (1024 * 1024)} MB, far more than any file edge-wizard reads, "
            "so it will not load it."
        )
    if "*" in text and "&" in text:
        try:
            _expanded_nodes(text, limit, source)
        except YAMLError:
            return  # not valid YAML: the loader says so in its own words


def refuse_aliases(text: str, source: str) -> None:
    """Refuse (YamlRefused) any anchor (&name) or alias (*name): answers and state never need them."""
    guard(text, source)
    if "&" not in text and "*" not in text:
        return
    try:
        for ev in _events(text):
            if isinstance(ev, AliasEvent) or (isinstance(ev, NodeEvent) and ev.anchor):
                mark = getattr(ev, "start_mark", None)
                where = f" (line {mark.line + 1})" if mark is not None else ""
                raise YamlRefused(
                    f"{source} uses a YAML anchor or alias{where} (&name / *name). Answers and state files are "
                    "plain key: value lists and never need them, and aliases can blow a few bytes up into gigabytes, "
                    "so edge-wizard refuses them."
                )
    except YAMLError:
        return


@dataclass(frozen=True)
class Indent:
    mapping: int = 2
    sequence: int = 4
    offset: int = 2


INDENTED = Indent(2, 4, 2)
UNINDENTED = Indent(2, 2, 0)

_KEY_LINE = re.compile(r"^(?P<ind> *)(?:- +)?[^\s#][^:]*:\s*(#.*)?$")
_DASH_LINE = re.compile(r"^(?P<ind> *)- ")


def detect_indent(text: str, default: Indent = INDENTED) -> Indent:
    """Guess how block sequences are indented under their parent key."""
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for cur, nxt in itertools.pairwise(lines):
        key = _KEY_LINE.match(cur)
        dash = _DASH_LINE.match(nxt)
        if not key or not dash or cur.lstrip().startswith("- "):
            continue
        offset = len(dash.group("ind")) - len(key.group("ind"))
        if offset == 0:
            return UNINDENTED
        if offset > 0:
            return Indent(2, offset + 2, offset)
    return default


@dataclass
class YamlDoc:
    """A parsed multi-document file plus what ruamel.yaml cannot keep by itself."""

    docs: list[Any]
    preamble: str
    explicit_start: bool
    indent: Indent


def _yaml(indent: Indent) -> YAML:
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=indent.mapping, sequence=indent.sequence, offset=indent.offset)
    return y


def _split_preamble(text: str) -> tuple[str, str, bool]:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped == "---" or stripped.startswith("--- "):
            return "".join(lines[:i]), "".join(lines[i:]), True
        return "", text, False
    return "", text, False


def parse(text: str, *, indent: Indent | None = None, source: str = "<yaml>") -> YamlDoc:
    """Round-trip load every document of ``text``. Raises ValueError with the file name."""
    guard(text, source)
    preamble, body, explicit = _split_preamble(text)
    ind = indent or detect_indent(text)
    try:
        docs = [d for d in _yaml(ind).load_all(body)]
    except YAMLError as exc:
        raise ValueError(f"{source} is not valid YAML: {exc}".replace("\n", " ")) from None
    return YamlDoc(
        docs=[d for d in docs if d is not None] or [], preamble=preamble, explicit_start=explicit, indent=ind
    )


def render(doc: YamlDoc) -> str:
    y = _yaml(doc.indent)
    y.explicit_start = doc.explicit_start
    out = io.StringIO()
    y.dump_all(doc.docs, out)
    return doc.preamble + out.getvalue()


def load_plain(text: str, source: str = "<yaml>") -> list[Any]:
    """Safe load of all documents into plain Python objects (for reading only), bounded by :func:`guard`."""
    guard(text, source)
    y = YAML(typ="safe", pure=True)
    return [d for d in y.load_all(text) if d is not None]


def load_fast(text: str) -> list[Any]:
    """Read-only scans of the repository: every document as plain Python objects (None dropped),
    with libyaml's C parser (ruamel.yaml.clib) under ruamel.yaml's safe constructor, so the result
    is exactly :func:`load_plain`'s (YAML 1.2) at a fraction of the cost, and nothing new to
    import. Without the C extension it falls back to the pure-Python parser. Raises ruamel's
    ``YAMLError`` on invalid YAML. Not for files the wizard rewrites: those go through
    :func:`parse` (round-trip)."""
    return [d for d in YAML(typ="safe").load_all(text) if d is not None]


def fast_loader_is_c() -> bool:
    """Whether :func:`load_fast` runs on libyaml (ruamel.yaml.clib is installed)."""
    return YAML(typ="safe").Parser.__name__ == "CParser"


def to_plain(value: Any) -> Any:
    """Turn ruamel round-trip containers into plain dicts/lists/scalars for comparison."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def find_doc(docs: Iterable[Any], kind: str, name: str | None = None) -> Any | None:
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == kind:
            if name is None or (d.get("metadata") or {}).get("name") == name:
                return d
    return None


# -- comments that precede a key -----------------------------------------------------------------
# ruamel.yaml keeps a full-line comment above a key as the trailing comment of whatever came before
# it (the previous key's scalar, or the deepest last entry of the previous key's mapping), so an
# edit there moves it: a key appended to that mapping lands between the comment and its key, and a
# deleted key takes the next key's comment with it. :func:`attach_comments` moves every such comment
# into the "before" slot of the key it precedes, where the emitter writes it in the same place.


def _trailing_holder(value: Any) -> tuple[list[Any], int, Any] | None:
    """(ca entry, slot, value) of the comment token written after the last line of ``value``."""
    if isinstance(value, CommentedMap) and len(value):
        key = next(reversed(value))
        inner = value[key]
        if isinstance(inner, CommentedMap | CommentedSeq):
            return _trailing_holder(inner)
        entry = value.ca.items.get(key)
        return (entry, 2, inner) if entry is not None and entry[2] is not None else None
    if isinstance(value, CommentedSeq) and len(value):
        idx = len(value) - 1
        inner = value[idx]
        if isinstance(inner, CommentedMap | CommentedSeq):
            return _trailing_holder(inner)
        entry = value.ca.items.get(idx)
        return (entry, 0, inner) if entry is not None and entry[0] is not None else None
    return None


def _split_comment(text: str, column: int, *, block: bool) -> tuple[str, list[Any]]:
    """The end-of-line part of a trailing token, and the full-line comments that follow it."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    keep = ""
    if not block and lines:
        first = lines.pop(0)
        keep = first + "\n" if first.strip() else ""
    moved: list[Any] = []
    for i, line in enumerate(lines):
        if not line.strip():
            moved.append(CommentToken("\n", CommentMark(0), None))
            continue
        col = len(line) - len(line.lstrip(" ")) if (i or not block) else column
        moved.append(CommentToken(line.lstrip(" ") + "\n", CommentMark(col), None))
    return keep, moved


def _attach(node: Any) -> None:
    from ruamel.yaml.scalarstring import FoldedScalarString, LiteralScalarString
    from ruamel.yaml.tokens import CommentToken

    if isinstance(node, CommentedMap):
        keys = list(node)
        for key in keys:
            _attach_first(node, key)
        for prev, nxt in itertools.pairwise(keys):
            value = node[prev]
            if isinstance(value, CommentedMap | CommentedSeq):
                held = _trailing_holder(value)
            else:
                entry = node.ca.items.get(prev)
                held = (entry, 2, value) if entry is not None and entry[2] is not None else None
            if held is None:
                continue
            entry, slot, scalar = held
            token = entry[slot]
            if not isinstance(token, CommentToken) or "#" not in token.value:
                continue
            block = isinstance(scalar, LiteralScalarString | FoldedScalarString)
            keep, moved = _split_comment(token.value, token.column, block=block)
            if not any(t.value.strip() for t in moved):
                continue  # only blank lines: they stay where they are
            entry[slot] = CommentToken(keep, token.start_mark, None) if keep else None
            slot_before = node.ca.items.setdefault(nxt, [None, None, None, None])
            slot_before[1] = moved + list(slot_before[1] or [])
        for value in node.values():
            _attach(value)
    elif isinstance(node, CommentedSeq):
        for value in node:
            _attach(value)


def _attach_first(parent: Any, key: Any) -> None:
    """Comment lines between ``key:`` and the first key of its mapping value belong to that first key."""
    from ruamel.yaml.tokens import CommentToken

    child = parent[key]
    entry = parent.ca.items.get(key)
    if not isinstance(child, CommentedMap) or not len(child) or entry is None:
        return
    first = next(iter(child))
    moved: list[Any] = []
    if entry[3]:  # no end-of-line comment on `key:`: the lines are kept as a list
        moved = list(entry[3])
        entry[3] = None
        if child.ca.comment and len(child.ca.comment) > 1:
            child.ca.comment[1] = None
    elif isinstance(entry[2], CommentToken) and "\n" in entry[2].value.rstrip("\n"):
        keep, moved = _split_comment(entry[2].value, entry[2].column, block=False)
        if not any(t.value.strip() for t in moved):
            return
        token = CommentToken(keep, entry[2].start_mark, None) if keep else None
        entry[2] = token
        if child.ca.comment:
            child.ca.comment[0] = token
    if moved:
        slot = child.ca.items.setdefault(first, [None, None, None, None])
        slot[1] = moved + list(slot[1] or [])


def attach_comments(doc: YamlDoc) -> bool:
    """Attach every comment that precedes a key to that key (see above), in place. The text the
    document renders to must not change: when it would (a layout ruamel.yaml emits differently),
    the document is left as it was and False is returned."""
    import copy

    # rendered from copies: ruamel.yaml's emitter marks comment tokens as written, and a deep copy of
    # a document rendered once loses the line break after a key whose comments precede a sequence
    before = render(copy.deepcopy(doc))
    saved = copy.deepcopy(doc.docs)
    for d in doc.docs:
        _attach(d)
    if render(copy.deepcopy(doc)) == before:
        return True
    doc.docs = saved
    return False


def delete_key(mapping: Any, key: str) -> bool:
    """Remove ``key`` with the comment lines above it (call :func:`attach_comments` first, so the
    next key keeps its own). True when it was there."""
    if key not in mapping:
        return False
    del mapping[key]
    return True


def _copy_before_comment(source: Any, target: Any, key: Any) -> None:
    """A key added from an asset brings the comment lines above it (see :func:`attach_comments`)."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    entry = getattr(source, "ca", None) and source.ca.items.get(key)
    if entry and entry[1] and hasattr(target, "ca"):
        slot = target.ca.items.setdefault(key, [None, None, None, None])
        if not slot[1]:
            col = _key_column(target)
            slot[1] = [
                t if col is None or t.value == "\n" else CommentToken(t.value, CommentMark(col), None) for t in entry[1]
            ]


def _key_column(mapping: Any) -> int | None:
    """The column the parsed keys of ``mapping`` start at (None for a mapping built in memory)."""
    lc = getattr(mapping, "lc", None)
    for key in mapping:
        try:
            pos = lc.key(key) if lc is not None else None
        except Exception:
            pos = None
        if pos is not None:
            return int(pos[1])
    return None


def require_doc(docs: Iterable[Any], kind: str, name: str | None = None) -> Any:
    """:func:`find_doc` for a document that must be there (an asset edge-wizard ships)."""
    doc = find_doc(docs, kind, name)
    if doc is None:
        raise LookupError(f"no {kind} document{f' named {name!r}' if name else ''} (an edge-wizard asset is broken)")
    return doc


def merge_managed(existing: Any, rendered: Any) -> Any:
    """Set the keys we manage (those in ``rendered``) into ``existing``, keeping everything else.

    Mappings merge key by key (so keys a user added survive, with their comments); scalars and
    sequences are replaced when their value differs.
    """
    if isinstance(existing, dict) and isinstance(rendered, dict):
        for key, value in rendered.items():
            if key in existing and isinstance(existing[key], dict) and isinstance(value, dict):
                merge_managed(existing[key], value)
            elif key not in existing:
                existing[key] = value
                _copy_before_comment(rendered, existing, key)
            elif to_plain(existing[key]) != to_plain(value):
                existing[key] = value
        return existing
    return rendered


__all__ = [
    "INDENTED",
    "MAX_BYTES",
    "MAX_EXPANDED_NODES",
    "UNINDENTED",
    "CommentedMap",
    "CommentedSeq",
    "Indent",
    "YamlDoc",
    "YamlRefused",
    "detect_indent",
    "fast_loader_is_c",
    "find_doc",
    "guard",
    "load_fast",
    "load_plain",
    "merge_managed",
    "parse",
    "refuse_aliases",
    "render",
    "to_plain",
]
