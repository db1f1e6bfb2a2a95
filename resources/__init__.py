"""Data files shipped with the application: bundle definitions, UZOVI table, models, texts.

A package only so that installers and PyInstaller find the files next to the code.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    return ROOT.joinpath(*parts)
