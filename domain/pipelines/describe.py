"""Descriptions of a pipeline for APIs, the CLI and docs: a JSON-ready dict and a Mermaid
diagram. Both are deterministic (declaration order throughout), so they can be diffed
and snapshot-tested."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.pipelines.compat import type_name

if TYPE_CHECKING:
    from domain.pipelines.pipeline import Pipeline

__all__ = ["to_dict", "to_mermaid"]


def to_dict(pipeline: Pipeline[Any, Any]) -> dict[str, Any]:
    return {
        "name": pipeline.name,
        "description": pipeline.description,
        "input_type": type_name(pipeline.input_type),
        "output_type": type_name(pipeline.output_type),
        "output": pipeline.output,
        "mode": pipeline.mode.value,
        "error_strategy": pipeline.error_strategy.value,
        "max_concurrency": pipeline.max_concurrency,
        "stages": [
            {
                "name": s.name,
                "depends_on": list(s.depends_on),
                "input_type": type_name(s.input_type),
                "output_type": type_name(s.output_type),
                "cacheable": s.cacheable,
                "version": s.version,
                "timeout": s.timeout,
                "retry": s.retry.to_dict(),
            }
            for s in pipeline.stages
        ],
        "layers": [list(layer) for layer in pipeline.layers],
    }


def to_mermaid(pipeline: Pipeline[Any, Any]) -> str:
    """A `graph TD` diagram: one node per stage (ids s0, s1, … in declaration order, so
    any stage name is safe; `"` in a label becomes `#quot;`), one edge per dependency,
    the output stage drawn with a heavier border."""
    ids = {s.name: f"s{i}" for i, s in enumerate(pipeline.stages)}
    lines = ["graph TD"]
    for s in pipeline.stages:
        label = s.name.replace('"', "#quot;")
        lines.append(f'    {ids[s.name]}["{label}"]')
    for s in pipeline.stages:
        lines.extend(f"    {ids[dep]} --> {ids[s.name]}" for dep in s.depends_on)
    lines.append("    classDef output stroke-width:3px")
    lines.append(f"    class {ids[pipeline.output]} output")
    return "\n".join(lines)
