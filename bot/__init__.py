"""cytobot's platform-neutral core: content pack, lookups, commands and cards."""

__version__ = "0.1.0"
