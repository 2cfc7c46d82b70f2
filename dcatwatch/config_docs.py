"""The configuration reference, generated from the settings models so it cannot drift."""

from __future__ import annotations

from pydantic import BaseModel

from dcatwatch.config import ENV_PREFIX, Section, Settings

LISTS = {"sources": "[[sources]]", "agencies": "[[agencies]]"}


def reference() -> str:
    """Markdown reference of every configuration key with its default and meaning."""
    out = ["# Configuration reference", "",
           "Keys of `dcatwatch.toml`. Section keys can also be set with environment variables "
           f"`{ENV_PREFIX}<SECTION>_<KEY>` (e.g. `{ENV_PREFIX}DATABASE_URL`).", ""]
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, Section):
            out += _section(f"[{name}]", annotation, env=name)
        else:
            model = _list_item(annotation)
            out += _section(LISTS[name], model, env=None)
    return "\n".join(out)


def _list_item(annotation: object) -> type[BaseModel]:
    return annotation.__args__[0]  # type: ignore[attr-defined,no-any-return]


def _section(title: str, model: type[BaseModel], env: str | None) -> list[str]:
    lines = [f"## `{title}`", "", "| key | default | meaning |", "|---|---|---|"]
    for key, field in model.model_fields.items():
        default = "required" if field.is_required() else repr(field.get_default(
            call_default_factory=True))
        meaning = field.description or ""
        if env:
            meaning += f" (env `{ENV_PREFIX}{env.upper()}_{key.upper()}`)"
        lines.append(f"| `{key}` | `{default}` | {meaning} |")
    return lines + [""]
