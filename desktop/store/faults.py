"""What went wrong with the local database, told apart, each with its own advice (nl, en).

SQLite's result codes say what happened: SQLITE_FULL (disk full), SQLITE_READONLY or
EACCES (no write permission), SQLITE_BUSY/LOCKED (another process holds the lock),
SQLITE_CORRUPT/NOTADB (damaged). With SQLCipher a wrong key also reads as NOTADB; the
opener tells those apart with the key state (`desktop.store.database`). Only real damage
gets the advice to restore a backup: restoring after a full disk would throw away the
records that were never synced.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

NEARLY_FULL = 1024 * 1024  # bytes free below which an unexplained write error is taken for a full disk

SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 11, 13, 14, 26

RECOVER_KEY = ("Vraag IT de sleutel van dit apparaat op te halen (`bundelassistent-server device-key APPARAAT-ID`) "
               "en zet hem terug met `bundelassistent recover-key`",
               "Ask IT to retrieve this device's key (`bundelassistent-server device-key DEVICE-ID`) "
               "and put it back with `bundelassistent recover-key`")

MESSAGES: dict[str, tuple[str, str]] = {
    "disk_full": (
        "de schijf met de lokale database ({folder}) is vol: er is niets opgeslagen en niets verloren. "
        "Maak ruimte vrij (of vraag IT) en probeer het opnieuw; zet géén back-up terug",
        "the disk holding the local database ({folder}) is full: nothing was saved and nothing was lost. "
        "Free some space (or ask IT) and try again; do not restore a backup"),
    "read_only": (
        "de lokale database in {folder} kan niet geschreven worden (alleen-lezen of geen rechten): er is niets "
        "verloren. Geef deze gebruiker schrijfrechten op de map (of vraag IT); zet géén back-up terug",
        "the local database in {folder} cannot be written (read-only or no permission): nothing was lost. "
        "Give this user write permission on the folder (or ask IT); do not restore a backup"),
    "locked": (
        "de lokale database is vergrendeld door een ander programma (een tweede venster of opdracht van "
        "Bundelassistent, een back-up- of virusscanner): er is niets verloren. Sluit het andere programma "
        "en probeer het opnieuw",
        "the local database is locked by another program (a second Bundelassistent window or command, a "
        "backup tool or virus scanner): nothing was lost. Close the other program and try again"),
    "io_error": (
        "de schijf gaf een lees- of schrijffout bij {path} ({detail}): controleer de schijf of netwerkschijf "
        "(vrije ruimte, verbinding) of vraag IT; zet géén back-up terug",
        "the disk reported a read or write error for {path} ({detail}): check the disk or network drive "
        "(free space, connection) or ask IT; do not restore a backup"),
    "database_error": (
        "de lokale database gaf een onverwachte fout ({detail}); er is niets opgeslagen. Vraag IT om hulp "
        "(het logbestand heeft de details)",
        "the local database reported an unexpected error ({detail}); nothing was saved. Ask IT for help "
        "(the log file has the details)"),
    "corrupt": (
        "de lokale database {path} is beschadigd ({detail}). Zet de laatste back-up terug met "
        "`bundelassistent restore BESTAND` en neem contact op met IT",
        "the local database {path} is damaged ({detail}). Restore the latest backup with "
        "`bundelassistent restore FILE` and contact IT"),
    "wrong_key": (
        "de sleutel in de sleutelbos past niet bij {path}: het bestand is met een andere sleutel versleuteld. "
        + RECOVER_KEY[0] + "; verwijder of wijzig het bestand niet",
        "the key in the keyring does not open {path}: the file was encrypted with another key. "
        + RECOVER_KEY[1] + "; do not delete or change the file"),
    "wrong_key_or_corrupt": (
        "{path} opent niet met de sleutel uit de sleutelbos: de sleutel past niet of het begin van het bestand "
        "is beschadigd. " + RECOVER_KEY[0] + "; helpt dat niet, zet dan de laatste back-up terug met "
        "`bundelassistent restore BESTAND`",
        "{path} does not open with the key from the keyring: the key does not match or the start of the file is "
        "damaged. " + RECOVER_KEY[1] + "; if that does not help, restore the latest backup with "
        "`bundelassistent restore FILE`"),
    "key_missing": (
        "de lokale database {path} is versleuteld, maar de sleutel ontbreekt in de sleutelbos van deze "
        "gebruiker. " + RECOVER_KEY[0] + "; verwijder het bestand niet: er kunnen niet-verzonden inclusies in staan",
        "the local database {path} is encrypted, but its key is missing from this user's keyring. "
        + RECOVER_KEY[1] + "; do not delete the file: it may hold records that were never sent"),
    "keyring_unavailable": (
        "geen werkende sleutelbos ({detail}): de lokale database is versleuteld en de sleutel hoort in de "
        "sleutelbos van het besturingssysteem. Linux: start GNOME Keyring of KWallet in de sessie "
        "(`scripts/app` doet dit zelf); Windows: Referentiebeheer; macOS: Sleutelhangertoegang; of vraag IT",
        "no working keyring ({detail}): the local database is encrypted and its key belongs in the operating "
        "system's keyring. Linux: start GNOME Keyring or KWallet in the session (`scripts/app` does this "
        "itself); Windows: Credential Manager; macOS: Keychain Access; or ask IT"),
    "register_missing": (
        "het register van dit apparaat ({device_id}, {records} inclusies) is verdwenen of leeg: {path}. De app "
        "begint niet stilzwijgend met een nieuw register. Zet de laatste back-up terug (`bundelassistent restore "
        "BESTAND`) of begin bewust opnieuw met `bundelassistent new-register --confirm` (overleg eerst met IT)",
        "this device's register ({device_id}, {records} records) is missing or empty: {path}. The app does not "
        "silently start a new register. Restore the latest backup (`bundelassistent restore FILE`) or start "
        "afresh on purpose with `bundelassistent new-register --confirm` (ask IT first)"),
    "register_shrunk": (
        "het register {path} bevat {found} inclusies, maar dit apparaat had er al {records}: er is een oudere "
        "kopie teruggezet of het bestand is vervangen. Zet de laatste back-up terug met `bundelassistent "
        "restore BESTAND` of overleg met IT",
        "the register {path} holds {found} records, but this device already had {records}: an older copy was "
        "put back or the file was replaced. Restore the latest backup with `bundelassistent restore FILE` or "
        "ask IT"),
    "register_replaced": (
        "{path} is het register van een ander apparaat ({found}), niet van dit apparaat ({device_id}). Zet het "
        "eigen register terug (`bundelassistent restore BESTAND`) of overleg met IT",
        "{path} is the register of another device ({found}), not of this device ({device_id}). Put this "
        "device's own register back (`bundelassistent restore FILE`) or ask IT"),
}


class StorageError(Exception):
    """A storage fault with advice in Dutch (str) and English (`text('en')`)."""

    def __init__(self, kind: str, **values: object) -> None:
        self.kind, self.values = kind, {key: str(value) for key, value in values.items()}
        super().__init__(self.text("nl"))

    def text(self, language: str = "nl") -> str:
        dutch, english = MESSAGES[self.kind]
        return (english if language == "en" else dutch).format_map(_Blank(self.values))


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "?"


def describe(error: BaseException, database: Path) -> StorageError:
    """Turn a driver or OS error on `database` into the fault a user can act on."""
    if isinstance(error, StorageError):
        return error
    places = {"path": Path(database), "folder": Path(database).parent}
    detail = str(error) if not isinstance(error, OSError) else (error.strerror or str(error))
    if isinstance(error, OSError):
        if error.errno == errno.ENOSPC:
            return StorageError("disk_full", **places)
        if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StorageError("read_only", **places)
        return _io_error(detail, places)
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code == SQLITE_FULL:
        return StorageError("disk_full", **places)
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN):
        return StorageError("read_only", **places)
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StorageError("locked", **places)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StorageError("corrupt", detail=detail, **places)
    if code == SQLITE_IOERR:  # e.g. growing the -shm file: SQLite reports no ENOSPC there
        return _io_error(detail, places)
    return StorageError("database_error", detail=detail, **places)


def _io_error(detail: str, places: dict[str, Path]) -> StorageError:
    try:
        full = shutil.disk_usage(places["folder"]).free < NEARLY_FULL
    except OSError:
        full = False
    return StorageError("disk_full" if full else "io_error", detail=detail, **places)
