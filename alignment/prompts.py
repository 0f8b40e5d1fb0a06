"""Prompt files: `prompts/<id>/v<N>.md.j2`, versioned, rendered with `StrictUndefined`.

Each file opens with a YAML header inside a Jinja comment (id, version, inputs, output schema,
model defaults) and holds a `system` and a `user` block. Rendering refuses a missing or an
undeclared input, so a template and its caller cannot drift apart silently. The hash of the
file's bytes is recorded with every draft; released versions are never edited (add vN+1).
User text reaches a prompt only through `tojson` inside <data> fences: Jinja's `tojson` escapes
`<`, `>` and `&`, so no record can close the fence and pose as instructions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from alignment.chat import Message

# The repository root, whether run from a checkout or installed editable (`pip install -e`).
PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
_HEADER = re.compile(r"\A\{#-?\s*\n(?P<yaml>.*?)\n\s*-?#\}", re.S)
_VERSION_FILE = re.compile(r"^v(\d+)\.md\.j2$")


class PromptError(ValueError):
    """A prompt file that is malformed, missing, or rendered with the wrong inputs."""


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    inputs: tuple[str, ...]
    output_schema: str
    model_defaults: dict[str, Any]
    path: Path
    hash: str

    def render(self, **values: Any) -> list[Message]:
        missing = [name for name in self.inputs if name not in values]
        extra = sorted(set(values) - set(self.inputs))
        if missing or extra:
            raise PromptError(
                f"prompt {self.id} v{self.version}: missing inputs {missing}, undeclared {extra}"
            )
        template = _environment(self.path.parent.parent).get_template(f"{self.id}/{self.path.name}")
        context = template.new_context(values)
        out = []
        for role in ("system", "user"):
            if role in template.blocks:
                text = "".join(template.blocks[role](context)).strip()
                out.append(Message(role, text))  # type: ignore[arg-type]
        if not out:
            raise PromptError(f"{self.path}: no system or user block")
        return out

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version, "hash": self.hash}


@lru_cache(maxsize=4)
def _environment(root: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def versions(prompt_id: str, *, root: Path = PROMPTS_DIR) -> list[int]:
    folder = root / prompt_id
    found = (
        [_VERSION_FILE.match(p.name) for p in folder.glob("v*.md.j2")] if folder.is_dir() else []
    )
    return sorted(int(m.group(1)) for m in found if m)


def load_prompt(prompt_id: str, version: int | None = None, *, root: Path = PROMPTS_DIR) -> Prompt:
    """The given version of a prompt, or its latest one."""
    available = versions(prompt_id, root=root)
    if not available:
        raise PromptError(f"no prompt {prompt_id!r} in {root}")
    version = available[-1] if version is None else version
    if version not in available:
        raise PromptError(f"prompt {prompt_id!r} has no version {version} (has {available})")
    return _load(root / prompt_id / f"v{version}.md.j2")


@lru_cache(maxsize=32)
def _load(path: Path) -> Prompt:
    source = path.read_bytes()
    match = _HEADER.match(source.decode("utf-8"))
    if not match:
        raise PromptError(f"{path}: no header (a YAML block inside a leading {{# ... #}})")
    header = yaml.safe_load(match.group("yaml")) or {}
    for key in ("id", "version", "inputs", "output_schema", "model_defaults"):
        if key not in header:
            raise PromptError(f"{path}: header lacks {key!r}")
    if header["id"] != path.parent.name or f"v{header['version']}.md.j2" != path.name:
        raise PromptError(f"{path}: header id/version do not match the file's place")
    inputs = header["inputs"]
    return Prompt(
        id=header["id"],
        version=int(header["version"]),
        inputs=tuple(inputs if isinstance(inputs, list) else inputs.keys()),
        output_schema=str(header["output_schema"]),
        model_defaults=dict(header["model_defaults"] or {}),
        path=path,
        hash=hashlib.sha256(source).hexdigest(),
    )
