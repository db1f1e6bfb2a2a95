"""Bundle definitions as the server serves them: the TOML text, verbatim.

`import-bundles DIR` checks every `*.toml` in DIR with the domain core's bundle parser
(the one the devices use, and the one the server re-checks every pushed record with)
and stores the text. A new (id, version), or changed text for a known one, becomes a
feed entry for every device. All files are checked before anything is stored: one
broken file stops the import.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select, update

from desktop.core.bundles import BundleError, parse_bundle_toml
from sync.protocol import BundleDefinition
from sync.server import tables as t
from sync.server.devices import AdminError
from sync.server.storage import Storage, Transaction


@dataclass(frozen=True)
class BundleImport:
    added: list[str]
    changed: list[str]
    unchanged: list[str]


def read_bundle_dir(folder: Path) -> list[BundleDefinition]:
    folder = Path(folder)
    if not folder.is_dir():
        raise AdminError(f"{folder}: is geen map")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise AdminError(f"{folder}: bevat geen *.toml-bestanden")
    problems, found = [], []
    seen: dict[tuple[str, str], str] = {}  # (id, version) -> the file it came from
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            bundle = parse_bundle_toml(text, path)
        except (OSError, UnicodeDecodeError) as error:
            problems.append(f"{path.name}: kan niet gelezen worden ({error})")
            continue
        except BundleError as error:
            problems.append(f"{path.name}: {'; '.join(error.problems)}")
            continue
        bundle_id, version, active = bundle.id, bundle.version, bundle.active
        if (bundle_id, version) in seen:
            problems.append(f"{path.name}: id {bundle_id!r} versie {version!r} "
                            f"staat ook in {seen[(bundle_id, version)]}")
            continue
        seen[(bundle_id, version)] = path.name
        found.append(BundleDefinition(id=bundle_id, version=version, toml=text, active=active))
    if problems:
        raise AdminError("bundels niet ingelezen (er is niets veranderd):\n  " + "\n  ".join(problems))
    return found


def import_bundles(storage: Storage, folder: Path) -> BundleImport:
    definitions = read_bundle_dir(folder)

    def work(tx: Transaction) -> BundleImport:
        b = t.bundles.c
        added, changed, unchanged = [], [], []
        for definition in definitions:
            label = f"{definition.id} {definition.version}"
            row = tx.conn.execute(select(b.toml, b.active).where(b.id == definition.id,
                                                                 b.version == definition.version)).first()
            if row is None:
                tx.conn.execute(insert(t.bundles).values(**definition.model_dump(), imported_at=tx.now))
                added.append(label)
            elif (row.toml, row.active) != (definition.toml, definition.active):
                tx.conn.execute(update(t.bundles).where(b.id == definition.id, b.version == definition.version)
                                .values(toml=definition.toml, active=definition.active, imported_at=tx.now))
                changed.append(label)
            else:
                unchanged.append(label)
                continue
            tx.feed("bundle", definition.model_dump(mode="json"))
        tx.audit("bundle_import", "ok", object_type="bundle_dir", object_id=Path(folder).name,
                 details={"added": added, "changed": changed})
        return BundleImport(added, changed, unchanged)

    return storage.write(work)
