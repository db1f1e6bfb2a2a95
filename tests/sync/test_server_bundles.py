"""Bundle definitions: imported as TOML text, served to every device through the feed."""

import shutil
import tomllib

from serverproc import REPO

BUNDLES = REPO / "resources" / "bundles"


def test_imported_bundles_reach_every_device_once(server_without_bundles, tmp_path):
    server = server_without_bundles
    client = server.enroll()
    result = server.admin("import-bundles", str(BUNDLES))
    assert "nieuw: hand-wrist 2024.1" in result.stdout
    changes, cursor = client.all_changes()
    bundles = {c["bundle"]["id"]: c["bundle"] for c in changes if c["kind"] == "bundle"}
    files = {tomllib.loads(p.read_text())["id"]: p.read_text() for p in BUNDLES.glob("*.toml")}
    assert set(bundles) == set(files)
    assert bundles["hand-wrist"]["toml"] == files["hand-wrist"]
    assert bundles["hand-wrist"]["active"] is True and bundles["hip-fracture"]["active"] is False
    # importing the same files again changes nothing; a changed text is sent again
    assert "0 nieuw, 0 gewijzigd" in server.admin("import-bundles", str(BUNDLES)).stdout
    assert client.all_changes(cursor)[0] == []
    folder = tmp_path / "bundles"
    shutil.copytree(BUNDLES, folder)
    path = folder / "hand-wrist.toml"
    path.write_text(path.read_text().replace("episode_days = 365", "episode_days = 366"))
    assert "gewijzigd: hand-wrist 2024.1" in server.admin("import-bundles", str(folder)).stdout
    (change,) = client.all_changes(cursor)[0]
    assert "episode_days = 366" in change["bundle"]["toml"]


def test_a_broken_bundle_file_stops_the_import_and_names_the_file(server_without_bundles, tmp_path):
    server = server_without_bundles
    folder = tmp_path / "bundles"
    shutil.copytree(BUNDLES, folder)
    (folder / "kapot.toml").write_text("id = \n")
    (folder / "zonder-versie.toml").write_text('id = "x"\n')
    result = server.admin("import-bundles", str(folder), check=False)
    assert result.returncode == 2
    assert "kapot.toml" in result.stderr and "zonder-versie.toml" in result.stderr
    assert "Traceback" not in result.stderr
    client = server.enroll()
    assert [c for c in client.all_changes()[0] if c["kind"] == "bundle"] == []
