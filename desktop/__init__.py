"""Bundelassistent desktop application: local services and (in `desktop.ui`) the window."""

__version__ = "0.1.0"
