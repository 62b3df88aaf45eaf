"""Hypothesis strategies built from the capability spec."""

from __future__ import annotations

from hypothesis import strategies as st

import fluxpanel


def value_for(p):
    if p.kind == "choice":
        return st.sampled_from(p.choices)
    if p.kind == "text":
        return st.text(min_size=int(p.min), max_size=min(int(p.max), 300))
    if p.kind == "integer":
        return st.integers(int(p.min), int(p.max))
    return st.floats(p.min, p.max, allow_nan=False)


@st.composite
def valid_params(draw, model=None):
    model = model or draw(st.sampled_from(list(fluxpanel.MODELS)))
    spec = fluxpanel.MODELS[model]
    params = {}
    for name, p in spec.params.items():
        if p.required or draw(st.booleans()):
            params[name] = draw(value_for(p))
    return model, params


def out_of_range(p):
    """Numbers just outside a numeric parameter's range."""
    if p.kind == "integer":
        return st.one_of(
            st.integers(max_value=int(p.min) - 1), st.integers(min_value=int(p.max) + 1)
        )
    return st.one_of(
        st.floats(max_value=p.min, exclude_max=True, allow_nan=False, allow_infinity=False),
        st.floats(min_value=p.max, exclude_min=True, allow_nan=False, allow_infinity=False),
    )
