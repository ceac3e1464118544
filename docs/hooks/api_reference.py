"""MkDocs hook: the API reference (reference/api.md) rendered at build time from the web app's
own OpenAPI schema (`create_app(None).openapi()`, the document served at /api/openapi.json):
paths, methods, summaries, parameters, bodies, answers and the schemas they use. Plain
Markdown, nothing loaded from the internet (no Swagger UI from a CDN)."""

from __future__ import annotations

import re
from typing import Any

from mkdocs.structure.files import File

PAGE = "reference/api.md"
METHODS = ("get", "post", "put", "patch", "delete")


def schema() -> dict[str, Any]:
    from kustosz.web.app import create_app

    return create_app(None).openapi()  # type: ignore[arg-type]  # the schema needs no vault


def anchor(name: str) -> str:
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def cell(text: Any) -> str:
    """One table cell: one line, pipes escaped."""
    return " ".join(str(text or "").split()).replace("|", "\\|")


def type_of(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{anchor(name)})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in spec:
            return " or ".join(type_of(s) for s in spec[key])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array of {type_of(spec.get('items', {}))}"
    if "enum" in spec:
        return f"{kind}: " + ", ".join(f"`{v}`" for v in spec["enum"])
    fmt = spec.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = [f"### {method.upper()} `{path}`", ""]
    if op.get("summary"):
        out += [f"**{op['summary']}**", ""]
    if op.get("description"):
        out += [op["description"].strip(), ""]
    params = op.get("parameters", [])
    if params:
        out += ["| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        for p in params:
            out.append(
                f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
                f"| {cell(type_of(p.get('schema', {})))} | {cell(p.get('description'))} |"
            )
        out.append("")
    body = op.get("requestBody")
    if body:
        for mime, media in body.get("content", {}).items():
            out += [
                f"Body ({mime}{', required' if body.get('required') else ''}): "
                f"{type_of(media.get('schema', {}))}",
                "",
            ]
    answers = op.get("responses", {})
    if answers:
        out += ["| answer | description | body |", "|---|---|---|"]
        for code, answer in answers.items():
            kinds = [
                f"{mime}: {type_of(m.get('schema', {}))}" if m.get("schema") else mime
                for mime, m in answer.get("content", {}).items()
            ]
            out.append(f"| {code} | {cell(answer.get('description'))} | {cell('; '.join(kinds))} |")
        out.append("")
    return out


def render() -> str:
    doc = schema()
    info = doc["info"]
    out = [
        "# API: dokumentacja / API reference",
        "",
        f"{info['title']} {info['version']}, OpenAPI {doc['openapi']}:",
        info.get("description", ""),
        "Generated from the web app's own schema when the site is built; a running Kustosz",
        "serves the same document at `/api/openapi.json`. Tokens and their scopes:",
        "[Security](../security.md#one-gate-for-every-request).",
        "",
    ]
    groups: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for path, ops in doc["paths"].items():
        for method in METHODS:
            if method in ops:
                tag = (ops[method].get("tags") or ["other"])[0]
                groups.setdefault(tag, []).append((method, path, ops[method]))
    for tag, ops in groups.items():
        out += [f"## {tag}", ""]
        for method, path, op in ops:
            out += operation(method, path, op)
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        out += ["## Schemas", ""]
        for name, spec in schemas.items():
            out += [f"### {name} {{#{anchor(name)}}}", ""]
            if spec.get("description"):
                out += [cell(spec["description"]), ""]
            props = spec.get("properties", {})
            if props:
                required = set(spec.get("required", []))
                out += ["| field | type | required | description |", "|---|---|---|---|"]
                for field, fspec in props.items():
                    out.append(
                        f"| `{field}` | {cell(type_of(fspec))} | "
                        f"{'yes' if field in required else 'no'} | "
                        f"{cell(fspec.get('description') or fspec.get('title'))} |"
                    )
                out.append("")
    return "\n".join(out)


def on_files(files, config):  # type: ignore[no-untyped-def]
    files.append(File.generated(config, PAGE, content=render()))
    return files
