"""Device database keys in escrow: deposited by each device, read back only by IT.

A device's register is encrypted with a random key kept in its OS keyring; if that
keyring is lost, so would be every record not yet synced. So the device deposits the key
here (authenticated by its device token) and IT can read it back with
`bundelassistent-server device-key DEVICE_ID` to recover the device. Keys are stored
sealed with AES-256-GCM under a key-encryption key that lives in a 0600 file outside the
database (`--key-file`, `$BUNDELASSISTENT_SERVER_KEY_FILE`, or one made next to the
default database), with the device id as associated data: a database dump alone reveals
no key, and a sealed key copied to another device's row does not open. Every deposit and
every read is audited.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import insert, select

from sync.protocol import DeviceKeyDeposit, DeviceKeyReceipt
from sync.server import tables as t
from sync.server.config import ConfigError
from sync.server.devices import AdminError, Device
from sync.server.storage import Storage, Transaction

SEAL_VERSION = "v1"
NONCE_BYTES = 12


def load_kek(path: Path) -> bytes:
    """The 256-bit key-encryption key from its file, made (0600) the first time."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another worker made it a moment ago
        else:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise ConfigError(f"{path}: de sleutelversleutelsleutel is leesbaar voor anderen; maak hem 0600 (chmod 600)")
    try:
        kek = base64.urlsafe_b64decode(path.read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError):
        kek = b""
    if len(kek) != 32:
        raise ConfigError(f"{path}: geen geldige sleutelversleutelsleutel (verwacht 32 bytes in base64)")
    return kek


def seal(kek: bytes, device_id: str, key_hex: str) -> str:
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(kek).encrypt(nonce, bytes.fromhex(key_hex), device_id.encode())
    return f"{SEAL_VERSION}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(kek: bytes, device_id: str, sealed: str) -> str:
    version, _, payload = sealed.partition(":")
    if version != SEAL_VERSION:
        raise AdminError(f"onbekende versleutelingsversie {version!r}")
    raw = base64.urlsafe_b64decode(payload)
    try:
        return AESGCM(kek).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], device_id.encode()).hex()
    except InvalidTag:
        raise AdminError("de opgeslagen sleutel opent niet met dit sleutelbestand (--key-file): gebruik het "
                         "sleutelbestand waarmee de server de sleutel ontving") from None


def fingerprint(key_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(key_hex)).hexdigest()


def deposit(tx: Transaction, device: Device, request: DeviceKeyDeposit, kek: bytes) -> DeviceKeyReceipt:
    """Keep the device's key (inside the transaction that checked its token)."""
    key_print = fingerprint(request.key)
    keys = t.device_keys
    earlier = tx.conn.execute(select(keys.c.deposited_at).where(
        keys.c.device_id == device.id, keys.c.key_fingerprint == key_print)).first()
    if earlier is not None:
        tx.audit("device_key_deposit", "unchanged", device_id=device.id, object_type="device", object_id=device.id)
        return DeviceKeyReceipt(stored=False, deposited_at=earlier.deposited_at)
    tx.conn.execute(insert(keys).values(device_id=device.id, key_fingerprint=key_print,
                                        sealed_key=seal(kek, device.id, request.key), deposited_at=tx.now))
    tx.audit("device_key_deposit", "ok", device_id=device.id, object_type="device", object_id=device.id)
    return DeviceKeyReceipt(stored=True, deposited_at=tx.now)


def retrieve(storage: Storage, device_id: str, kek: bytes) -> list[tuple]:
    """Every key the device deposited, oldest first, as (deposited_at, key); the read is audited."""
    def work(tx: Transaction) -> list[tuple]:
        known = tx.conn.execute(select(t.devices.c.id).where(t.devices.c.id == device_id)).first()
        if known is None:
            raise AdminError(f"apparaat {device_id} bestaat niet (zie 'devices')")
        rows = tx.conn.execute(select(t.device_keys.c.deposited_at, t.device_keys.c.sealed_key)
                               .where(t.device_keys.c.device_id == device_id)
                               .order_by(t.device_keys.c.deposited_at, t.device_keys.c.id)).all()
        tx.audit("device_key_read", "ok" if rows else "none", object_type="device", object_id=device_id,
                 details={"keys": len(rows)})
        return [(row.deposited_at, row.sealed_key) for row in rows]

    sealed = storage.write(work)
    if not sealed:
        raise AdminError(f"apparaat {device_id} heeft nog geen sleutel afgegeven (dat gebeurt bij het aanmelden "
                         "en bij elke synchronisatie)")
    return [(when, unseal(kek, device_id, value)) for when, value in sealed]
