"""corpuspack: turn a folder of raw source documents into a versioned, validated corpus."""

from __future__ import annotations

from typing import Any

__all__ = ["__version__"]


def __getattr__(name: str) -> Any:
    # importlib.metadata costs 50 ms at start-up; only descriptors need the version
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("corpuspack")
        except PackageNotFoundError:  # a source tree that is not installed
            return "0.0.0"
    raise AttributeError(name)
