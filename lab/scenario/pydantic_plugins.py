"""`--check` tells pydantic that no plugin observes it, without paying for the search.

pydantic looks for plugins the first time it builds a validator: its plugin loader imports
importlib.metadata at module level (with email, zipfile and socket: ~13 ms, a tenth of the
150 ms start-up budget of issue 12), even when PYDANTIC_DISABLE_PLUGINS=__all__ tells it to find
none. A check builds validators only to check a file; nothing observes it.
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

LOADER = "pydantic.plugin._loader"
NO_PLUGINS = ("__all__", "1", "true")  # the values pydantic's get_plugins answers () to


def skip_plugin_discovery() -> None:
    """Disable pydantic's plugins for this process, and stand in for its loader if not loaded.

    The stand-in's get_plugins returns what the real one returns under PYDANTIC_DISABLE_PLUGINS
    in NO_PLUGINS: nothing. tests/test_startup.py checks both facts this rests on against the
    installed pydantic: the real loader answers () too, and get_plugins is all pydantic takes
    from it. A user who names plugins to disable keeps pydantic's own loader.
    """
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    if os.environ["PYDANTIC_DISABLE_PLUGINS"] not in NO_PLUGINS or LOADER in sys.modules:
        return
    stand_in = ModuleType(LOADER, "pydantic's plugin loader when plugins are disabled")
    stand_in.get_plugins = _no_plugins  # type: ignore[attr-defined]
    sys.modules[LOADER] = stand_in


def _no_plugins() -> tuple[()]:
    return ()
