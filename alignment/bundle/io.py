"""Reading bundle documents from bytes: JSON or YAML, with parse errors located."""

from __future__ import annotations

import json
import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import yaml

from alignment.bundle.nesting import check_json_depth, check_yaml_events
from alignment.errors import BundleInvalid


def _save_as_utf8(name: str) -> str:
    """How to fix it, for the file it is: Excel's advice means nothing to a JSON file."""
    if name == "CSV":
        return "save it as UTF-8 (in Excel: 'CSV UTF-8')"
    return (
        "JSON and YAML must be UTF-8: save it with the UTF-8 encoding (in most editors: "
        "'Save with Encoding', UTF-8), or write it with a tool that writes UTF-8"
    )


def decode(raw: bytes | str, *, name: str) -> str:
    """UTF-8 text (a BOM is dropped), or an error saying which byte is not UTF-8."""
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        # The byte's place in its line, as an editor counts (bytes: what precedes it may be
        # cut anywhere), and in the file.
        column = exc.start - raw.rfind(b"\n", 0, exc.start)
        raise BundleInvalid(
            f"{name} is not UTF-8 text; {_save_as_utf8(name)}",
            details=[
                {
                    "path": "$",
                    "message": f"line {line}, byte {column} of the line ({exc.start + 1} of the "
                    f"file): 0x{raw[exc.start]:02x} is not valid UTF-8",
                }
            ],
        ) from exc


class _RepeatedKey(ValueError):
    def __init__(self, key: object, line: int | None = None, column: int | None = None) -> None:
        super().__init__(key)
        self.key, self.line, self.column = key, line, column


def _each_key_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON and YAML keep the last of two equal keys without a word: the first value would be
    # lost silently, as a typo'd key would be if unknown keys were not refused.
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return found


def _repeat_at(text: str) -> int | None:
    """Where in JSON `text` the key `_each_key_once` refused is named the second time.

    json.loads tells the hook no positions, so the text is walked again (only on this error):
    the first object to close with a repeated key is the one the hook saw first, and its first
    key named before in it is the one refused. Everything up to that object's end parsed."""
    keys: list[tuple[set[str], int | None] | None] = []  # per open object; None for an array
    key_next = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            value, end = json.decoder.scanstring(text, i + 1)  # type: ignore[attr-defined]
            top = keys[-1] if keys else None
            if key_next and top is not None:
                seen, repeat = top
                if repeat is None and value in seen:
                    keys[-1] = (seen, i)
                seen.add(value)
                key_next = False
            i = end
            continue
        if char == "{":
            keys.append((set(), None))
            key_next = True
        elif char == "[":
            keys.append(None)
        elif char in "}]":
            closed = keys.pop() if keys else None
            if closed is not None and closed[1] is not None:
                return closed[1]
        elif char == ",":
            key_next = bool(keys) and keys[-1] is not None
        i += 1
    return None


def _line_column(text: str, at: int) -> tuple[int, int]:
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


# Python reads no decimal integer past 4,300 digits (a ValueError deep in the parser), and no
# bundle value needs more than 16 (numbers are limited to 2^53): past this, the text is refused.
MAX_DIGITS = 100


class _LongNumber(ValueError):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _json_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _LongNumber(text)
    return int(text)


def _long_number(name: str, text: str, number: str) -> BundleInvalid:
    line, column = _line_column(text, text.find(number))
    return BundleInvalid(
        f"{name} holds a number too long to read",
        details=[
            {
                "path": "$",
                "message": f"line {line}, column {column}: a number of "
                f"{len(number.lstrip('-'))} digits; at most {MAX_DIGITS}",
            }
        ],
    )


# CSafeLoader when available: YAML bundles can be large.
class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):  # `? [a, b] : 1`: no object can hold it
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    "a key must be a text or a number, not a list or a mapping",
                    key_node.start_mark,
                )
            if key in seen:
                mark = key_node.start_mark
                raise _RepeatedKey(key, mark.line + 1, mark.column + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.1 (PyYAML's default) reads `1:30` as 90, `010` as 8, `1_000` as 1000 and `no` as False:
# a target or an id changed without a word. The YAML 1.2 core schema reads them as written
# (`010` is 10; the rest stay text, which the bundle's rules then accept or refuse at their path).
_CORE_SCHEMA = {
    "tag:yaml.org,2002:bool": re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    "tag:yaml.org,2002:int": re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    "tag:yaml.org,2002:float": re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
}


def _add_core_resolvers(cls: Any) -> None:  # the loader and the dumper below
    for tag, pattern in _CORE_SCHEMA.items():
        cls.add_implicit_resolver(tag, pattern, list("-+0123456789.tTfF"))


_UniqueKeyLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _CORE_SCHEMA]
    for first, resolvers in _UniqueKeyLoader.yaml_implicit_resolvers.items()
}
_add_core_resolvers(_UniqueKeyLoader)


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if not _CORE_SCHEMA["tag:yaml.org,2002:int"].match(text):  # `!!int 1_000` is tagged by hand
        raise yaml.constructor.ConstructorError(
            None, None, f"{text!r} is not an integer", node.start_mark
        )
    if len(text.lstrip("+-")) > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of {len(text)} digits; at most {MAX_DIGITS}", node.start_mark
        )
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)  # `010` is ten, not YAML 1.1's octal eight


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _core_int)


class _QuotingDumper(yaml.SafeDumper):
    """Quotes text that either schema reads as something else: "no" (1.1) and "1e3" (1.2) alike,
    so an export reads back as it was written, here or in another YAML reader."""


_add_core_resolvers(_QuotingDumper)


def _repeated(name: str, exc: _RepeatedKey) -> BundleInvalid:
    where = f"line {exc.line}, column {exc.column}" if exc.line else ""
    return BundleInvalid(
        f"{name} names the key {exc.key!r} twice in one object"
        + (f", the second time at {where}" if where else ""),
        details=[
            {
                "path": "$",
                "message": f"{f'{where}: ' if where else ''}{exc.key!r} appears twice in one "
                "object; keep one (the first would otherwise be dropped without a word)",
            }
        ],
    )


# Text opening as JSON does (`{"key"`, `["item"`) is held to JSON: a slip in it gets JSON's
# error, not a YAML reading that may change a value (`2026-07-01` is a date in YAML).
_WRITTEN_AS_JSON = re.compile(r'[{\[]\s*"')


def load_document(raw: bytes | str, *, name: str = "bundle", json_only: bool = False) -> Any:
    """Parse JSON (or YAML, a superset) and report where a syntax error is. `json_only` for a
    body declared as JSON: its syntax errors are JSON's, not a YAML reading of it. Other text
    opening with `{` or `[` is read as JSON first, then as YAML flow style
    (`{format: goldenthread.bundle/v1, ...}`) unless it opens as JSON does."""
    text = decode(raw, name=name)
    stripped = text.lstrip()
    if not stripped:
        raise BundleInvalid(
            f"{name} is empty", details=[{"path": "$", "message": "no document: the text is empty"}]
        )
    if json_only or stripped.startswith(("{", "[")):
        check_json_depth(text, name=name)
        try:
            return json.loads(text, object_pairs_hook=_each_key_once, parse_int=_json_int)
        except _RepeatedKey as exc:
            at = _repeat_at(text)
            if at is not None:
                exc.line, exc.column = _line_column(text, at)
            raise _repeated(name, exc) from exc
        except _LongNumber as exc:
            raise _long_number(name, text, exc.text) from exc
        except json.JSONDecodeError as exc:
            if json_only or _WRITTEN_AS_JSON.match(stripped):
                raise BundleInvalid(
                    f"{name} is not valid JSON",
                    details=[
                        {
                            "path": "$",
                            "message": f"line {exc.lineno}, column {exc.colno}: {exc.msg}",
                        }
                    ],
                ) from exc
    return _load_yaml(text, name=name)


def _load_yaml(text: str, *, name: str) -> Any:
    try:
        check_yaml_events(text, name=name)
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _RepeatedKey as exc:
        raise _repeated(name, exc) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise BundleInvalid(
            f"{name} is not valid YAML or JSON",
            details=[{"path": "$", "message": f"{where}{getattr(exc, 'problem', exc)}"}],
        ) from exc


def load_file(path: Path) -> Any:
    return load_document(path.read_bytes(), name=str(path))


def dump_document(document: Any, *, fmt: str = "json") -> str:
    if fmt == "yaml":
        return yaml.dump(document, Dumper=_QuotingDumper, sort_keys=False, allow_unicode=True)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
