"""fluxpanel's version, read by the package build and written into files."""

__version__ = "0.2.0"
