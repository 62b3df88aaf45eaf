"""`import fluxpanel` stays light: no Pillow, widget or server until used."""

from __future__ import annotations

import json
import subprocess
import sys


def test_import_is_light():
    code = "import sys, json, fluxpanel;print(json.dumps(sorted(m for m in sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = set(json.loads(out.stdout))
    for heavy in (
        "PIL",
        "anywidget",
        "ipywidgets",
        "http.server",
        "fluxpanel.testing",
        "fluxpanel._panel",
        "IPython",
    ):
        assert heavy not in mods, heavy


def test_public_api():
    import fluxpanel

    for name in fluxpanel.__all__:
        assert getattr(fluxpanel, name) is not None
