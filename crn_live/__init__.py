"""crn-live: real-time, visually-guided music source separation (Cycle-Refining Network)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crn-live")
except PackageNotFoundError:  # run from a source tree without installing
    __version__ = "0.0.0+source"
