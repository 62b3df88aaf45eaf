"""Documentation made from the tables, so the README and docs never drift
from what validation enforces: ``python -m fluxpanel._docs`` prints it."""

from __future__ import annotations

import sys
from pathlib import Path

from ._kinds import KINDS, grouped
from ._request import COUNT
from ._spec import Caveat, ModelSpec, ParamSpec
from .providers import PROVIDERS, Provider


def _condition(caveat: Caveat) -> str:
    """The settings under which a caveat does not hold, in a few words."""
    parts = []
    for name, value in caveat.when.items():
        if isinstance(value, bool):
            parts.append(f"`{name}` {'off' if value else 'on'}")
        else:
            parts.append(f"`{name}` not {value}")
    return " and ".join(parts)


def _param(p: ParamSpec) -> str:
    return KINDS[p.kind].doc(p) + "".join(r.doc() for r in p.relations)


def _row(host: str, provider: type, spec: ModelSpec) -> str:
    seed = next((p for p in spec.params.values() if p.random), None)
    seeds = f"{grouped(seed.min)}–{grouped(seed.max)}" if seed is not None else "none"
    # The prompt and the seed are every row's: said in their own columns.
    takes = "; ".join(_param(p) for p in spec.params.values() if not (p.role or p.random))
    same = "yes"
    if not spec.reproducible:
        conditions = [_condition(c) for c in spec.caveats if c.varies]
        same = "only with " + ", ".join(conditions) if all(conditions) else "no"
    batch = (
        "one seed per image (seed, seed+1, …)"
        if spec.batch_seeds == "each"
        else "one seed for the batch"
    )
    if COUNT not in spec.params:
        batch = "one image"
    billed = "billed" if provider.bills_withheld else "not billed"
    own = provider.withheld_by != Provider.withheld_by
    withheld = f"by {provider.withheld_by}, {billed}" if own else "—"
    return f"| {spec.label} | `{host}` | {takes} | {seeds} | {same} | {batch} | {withheld} |"


def host_table() -> str:
    """The model × host table: what each host takes, and what differs."""
    lines = [
        "| model | host | takes | seeds | same seed, same image? | batches | withheld images |",
        "|---|---|---|---|---|---|---|",
    ]
    ids = list(dict.fromkeys(m for cls in PROVIDERS.values() for m in cls.models))
    for model_id in ids:
        for host, cls in PROVIDERS.items():
            if host == "preview" or model_id not in cls.models:
                continue
            lines.append(_row(host, cls, cls.models[model_id]))
    return "\n".join(lines) + "\n"


def provider_table() -> str:
    """The providers: what to set, the models each offers, what it takes."""
    lines = [
        "| provider | environment variable | models | what it takes |",
        "|---|---|---|---|",
    ]
    for name, cls in PROVIDERS.items():
        title = f"`{name}`" + (f" ({cls.label})" if cls.key_env and name != "flux-api" else "")
        models = ", ".join(cls.models)
        lines.append(f"| {title} | {cls.environment()} | {models} | {cls.summary} |")
    return "\n".join(lines) + "\n"


#: The README's generated tables, each between its markers.
_TABLES = {"host-table": host_table, "provider-table": provider_table}


def with_host_table(text: str) -> str:
    """``text`` (the README) with each generated table between its markers renewed."""
    for marker, make in _TABLES.items():
        start, end = f"<!-- {marker} -->\n", f"<!-- /{marker} -->"
        if start not in text:
            continue
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = head + start + make() + end + tail
    return text


if __name__ == "__main__":
    if sys.argv[1:2] == ["--readme"]:
        readme = Path(sys.argv[2] if len(sys.argv) > 2 else "README.md")
        readme.write_text(with_host_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(host_table(), end="")
