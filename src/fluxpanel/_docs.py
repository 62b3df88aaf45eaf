"""Documentation made from the tables, so the README and docs never drift
from what validation enforces: ``python -m fluxpanel._docs`` prints it."""

from __future__ import annotations

from ._spec import Caveat, ModelSpec, ParamSpec

#: Parameters every row has, left out of the "takes" column.
_COMMON = ("prompt", "seed")


def _n(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


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
    if p.kind == "choice":
        choices = list(p.choices or ())
        shown = ", ".join(choices) if len(choices) <= 4 else f"{len(choices)} choices"
        text = f"`{p.name}` {shown} ({p.default})"
    elif p.kind == "boolean":
        text = f"`{p.name}` ({'on' if p.default else 'off'})"
    elif p.kind == "text":
        text = f"`{p.name}`"
    elif p.kind == "boxes":
        text = f"`{p.name}` (written into the prompt)"
    elif p.is_image:
        what = f"up to {_n(p.max)} images" if p.kind == "images" else "image"
        if p.needs:
            what += f" after `{p.needs}`"
        if p.mask_of:
            what = f"mask over `{p.mask_of}`"
        limits = p.limits.describe() if p.limits else ""
        text = f"`{p.name}` {what}{' (required)' if p.required else ''}: {limits}"
        text += ", URLs too" if p.urls else ""
    else:
        text = f"`{p.name}` {_n(p.min)}–{_n(p.max)} ({_n(p.default)})"
        if p.multiple_of:
            text += f" ×{p.multiple_of}"
        if p.most_with:
            text += f", at most {_n(p.most_with[1])} with `{p.most_with[0]}`"
    if p.only_with:
        text += f" with {p.only_with[0]}={p.only_with[1]}"
    return text


def _row(host: str, provider: type, spec: ModelSpec) -> str:
    seed = spec.params.get("seed")
    seeds = f"{_n(seed.min)}–{_n(seed.max)}" if seed is not None else "none"
    takes = "; ".join(_param(p) for n, p in spec.params.items() if n not in _COMMON)
    same = "yes"
    if not spec.reproducible:
        conditions = [_condition(c) for c in spec.caveats]
        same = "only with " + ", ".join(conditions) if all(conditions) else "no"
    batch = (
        "one seed per image (seed, seed+1, …)"
        if spec.batch_seeds == "each"
        else "one seed for the batch"
    )
    if "num_images" not in spec.params:
        batch = "one image"
    from .providers import Provider

    billed = "billed" if provider.bills_withheld else "not billed"
    own = provider.withheld_by != Provider.withheld_by
    withheld = f"by {provider.withheld_by}, {billed}" if own else "—"
    return f"| {spec.label} | `{host}` | {takes} | {seeds} | {same} | {batch} | {withheld} |"


def host_table() -> str:
    """The model × host table: what each host takes, and what differs."""
    from .providers import PROVIDERS

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


_MARKERS = ("<!-- host-table -->\n", "<!-- /host-table -->")


def with_host_table(text: str) -> str:
    """``text`` (the README) with the host table between its markers renewed."""
    start, end = _MARKERS
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    return head + start + host_table() + end + tail


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--readme"]:
        from pathlib import Path

        readme = Path(sys.argv[2] if len(sys.argv) > 2 else "README.md")
        readme.write_text(with_host_table(readme.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(host_table(), end="")
