"""YAML parsed by libyaml's C parser when PyYAML was built with it, else by the pure-Python one.

The code table and the reader's language are parsed on every start; the C parser reads them about
twenty times faster (a few hundredths of a second instead of a few tenths) and builds the same data."""

from __future__ import annotations

from typing import Any

import yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """yaml.safe_load, with the fast parser."""
    return yaml.load(text, Loader=SafeLoader)
