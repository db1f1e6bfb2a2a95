"""Reading bundle definition files from folders: the shipped ones and a clinic's own.

The checking itself is the domain core's (`desktop.core.bundles`); this module only
reads files, so one broken file never keeps the valid ones from loading.
"""

from __future__ import annotations

from pathlib import Path

import resources
from desktop import textfiles
from desktop.core.bundles import Bundle, BundleError, LoadReport, parse_bundle_toml


def default_bundles_dir() -> Path:
    return resources.path("bundles")


def load_bundle_file(path: Path) -> Bundle:
    """Load one file; raise BundleError with messages naming the problems."""
    try:
        text = textfiles.read_text(path)  # UTF-8 or Notepad's UTF-16; a folder, NUL or garbage is refused
    except textfiles.TextFileError as error:
        raise BundleError([str(error)]) from None
    bundle = parse_bundle_toml(text, path)
    if bundle.id != path.stem:
        raise BundleError([f"veld 'id': {bundle.id!r} moet gelijk zijn aan de bestandsnaam ({path.stem!r})"])
    return bundle


def load_bundles(folder: Path | None = None) -> LoadReport:
    """Load every *.toml in the folder; broken files are reported and skipped."""
    folder = Path(folder) if folder else default_bundles_dir()
    report = LoadReport()
    if not folder.is_dir():
        report.errors[folder] = ["map met bundeldefinities bestaat niet"]
        return report
    for path in sorted(folder.glob("*.toml")):
        try:
            bundle = load_bundle_file(path)
        except BundleError as error:
            report.errors[path] = error.problems
            continue
        report.bundles[bundle.id] = bundle
    return report
