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
            elif key not in existing or to_plain(existing[key]) != to_plain(value):
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
