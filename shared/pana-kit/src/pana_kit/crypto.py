"""Field encryption at rest: AES-256-GCM, a key id on every value, rotation without downtime.

Claim narratives, interview records, assessments, evidence and free-text notes are
stored as self-describing tokens::

    v1.<key id>.<base64url nonce>.<base64url ciphertext+tag>

The caller passes a `context` naming where the value lives
(``"rsd:application:<id>:narrative"``); it is the AES-GCM associated data, so a
ciphertext copied to another record or field does not decrypt. Contexts hold
ids only, never personal data. The calls are explicit (no column type) because
the context needs the record's id.

Keyring file (JSON, mode 0600)::

    {"active": "k2", "keys": {"k1": "<base64 32 bytes>", "k2": "<base64 32 bytes>"}}

plus ``"mac_root": "<base64 32 bytes>"``, the root of the keyed hashes (blind indexes of encrypted
fields, the audit chain's HMAC and checkpoint signatures); it does not rotate with the data keys. A file
written before it had one derives it from its first key, and `pana keys` commands then write it out.
Keys come through a `KeyProvider` (`FileKeyProvider` for this file; a KMS provider in production).

The audit chain's key rotates on its own (`pana keys rotate-audit`): ``"audit_keys": {"<id>": "<base64 32
bytes>", ...}`` (oldest first) and ``"audit_active": "<id>"``; without them the audit key is the one derived from
the MAC root (id ``""``). Audit keys are never removed: every entry names the key it was written with
(`pana_kit.audit`), and `pana audit verify` needs them all.

(``"current"`` is read as a synonym of ``"active"``, for keyrings written by the
rsd service's earlier local helper.) In dev mode a missing keyring is generated
under var/; with dev mode off a missing keyring refuses to start.

Rotation without downtime
-------------------------
``pana keys rotate --service S`` adds a new key and makes it active. Old keys stay
in the file, so every stored value still decrypts. A running instance re-reads the
file when it changes (checked at most every `reload_interval` seconds, and at once
when it meets a key id it does not know), so new writes move to the new key
without a restart. When instances have separate copies of the file (one secret
per host), roll out in two steps so no instance meets a key it lacks:
``pana keys rotate --service S --no-activate`` (distribute), then
``pana keys activate --service S --key-id ID`` (distribute again).

Re-encrypting old values (optional; needed before an old key may be removed)
---------------------------------------------------------------------------
Work in small batches, each its own transaction, so the service keeps serving::

    while True:
        async with db.transaction() as s:
            rows = (await s.execute(select(T).where(~T.narrative.startswith(keyring.active_prefix))
                                    .order_by(T.id).limit(200).with_for_update(skip_locked=True))).scalars().all()
            if not rows:
                break
            for row in rows:
                row.narrative = keyring.reencrypt(row.narrative, context=f"rsd:application:{row.id}:narrative")

`reencrypt_column` below does exactly this for a table whose tokens sit in one
text column. Only when no value names a key (``keyring.key_id_of(token)``) may
``pana keys retire`` remove it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LEGACY_PREFIX = "enc:v1:"  # statelessness's earlier local format: enc:v1:<kid>:<b64url(nonce||ct)>


class KeyringError(RuntimeError):
    """The keyring is missing, unreadable or lacks a key a value names."""


class DecryptionError(KeyringError):
    """A value does not decrypt: tampered, truncated, or moved to another record or field."""


@dataclass(frozen=True)
class Sealed:
    """One encrypted value in parts (for services that keep them in separate columns)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    @property
    def token(self) -> str:
        return ".".join((VERSION, self.key_id, _b64e(self.nonce), _b64e(self.ciphertext)))

    @classmethod
    def parse(cls, token: str) -> "Sealed":
        if not isinstance(token, str):
            raise DecryptionError("not an encrypted value")
        if token.startswith(_LEGACY_PREFIX):
            key_id, _, body = token[len(_LEGACY_PREFIX):].partition(":")
            raw = _b64d(body)
            if len(raw) <= NONCE_BYTES:
                raise DecryptionError("not an encrypted value")
            return cls(key_id, raw[:NONCE_BYTES], raw[NONCE_BYTES:])
        parts = token.split(".")
        if len(parts) != 4 or parts[0] != VERSION or not _KEY_ID.match(parts[1]):
            raise DecryptionError("not an encrypted value (expected v1.<key id>.<nonce>.<ciphertext>)")
        nonce, ciphertext = _b64d(parts[2]), _b64d(parts[3])
        if len(nonce) != NONCE_BYTES or len(ciphertext) < 16:
            raise DecryptionError("not an encrypted value (bad nonce or ciphertext length)")
        return cls(parts[1], nonce, ciphertext)


def is_token(value: Any) -> bool:
    """Whether `value` looks like an encrypted value (for migrating plaintext columns)."""
    if not isinstance(value, str):
        return False
    try:
        Sealed.parse(value)
        return True
    except KeyringError:
        return False


@runtime_checkable
class KeyProvider(Protocol):
    """Where the keys come from: the file below in development, a KMS or secret store in production.

    Data keys encrypt fields (AES-256-GCM); `secret(purpose)` gives a stable 32-byte secret for keyed
    hashes (blind indexes of encrypted fields, the audit chain's HMAC, the audit checkpoints' signing
    key). A provider for a KMS unwraps data keys it keeps wrapped; none of them is ever in the database.
    Select one with `<PREFIX>KEY_PROVIDER` = `file` (the default) or `module:callable` (called with the
    service's settings, returns a KeyProvider).
    """

    def current_key_id(self) -> str: ...

    def data_key(self, key_id: str) -> bytes: ...

    def key_ids(self) -> Iterable[str]: ...

    def secret(self, purpose: str) -> bytes: ...


def _derive(root: bytes, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"pana:{purpose}".encode()).derive(root)


class Keyring:
    def __init__(self, active: str, keys: dict[str, bytes], *, path: Path | None = None, reload_interval: float = 5.0,
                 mac_root: bytes | None = None, provider: KeyProvider | None = None,
                 audit_keys: dict[str, bytes] | None = None, audit_active: str = ""):
        self._install(active, keys)
        # Rotated audit-chain keys (oldest first) and the one new entries use ("" : derived from the MAC root).
        self._audit_keys = dict(audit_keys or {})
        if audit_active and audit_active not in self._audit_keys:
            raise KeyringError(f"the active audit key {audit_active!r} is not among the audit keys")
        self.audit_active = audit_active
        # The root of the keyed hashes (blind indexes, audit chain): stable across data-key rotation.
        self._mac_root = mac_root if mac_root is not None else _derive(next(iter(keys.values())), "mac-root")
        self.provider = provider
        self.path = path
        self.reload_interval = reload_interval
        self._mtime = _mtime(path) if path else None
        self._checked = time.monotonic()

    def _install(self, active: str, keys: dict[str, bytes]) -> None:
        if not keys:
            raise KeyringError("the keyring has no keys")
        for key_id, key in keys.items():
            if not _KEY_ID.match(key_id):
                raise KeyringError(f"key id {key_id!r} must be 1-64 of A-Z a-z 0-9 _ -")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"key {key_id} is not 256 bits")
        if active not in keys:
            raise KeyringError(f"the active key {active!r} is not among the keyring's keys")
        self.active = active
        self._keys = dict(keys)
        self._aead = {k: AESGCM(v) for k, v in keys.items()}

    # -- loading -------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: Path | str, **kw) -> "Keyring":
        path = Path(path)
        active, keys, mac_root = _read_all(path)
        audit_active, audit_keys = _read_audit(path)
        return cls(active, keys, path=path, mac_root=mac_root, audit_keys=audit_keys, audit_active=audit_active, **kw)

    @classmethod
    def from_provider(cls, provider: KeyProvider, **kw) -> "Keyring":
        """A keyring whose keys come from `provider` (a KMS): data keys are fetched when first needed."""
        active = provider.current_key_id()
        # Optional: a provider whose audit key rotates gives `audit_keys()` -> (active id, {id: 32 bytes}, oldest first).
        audit_active, audit_keys = provider.audit_keys() if hasattr(provider, "audit_keys") else ("", {})
        return cls(active, {active: provider.data_key(active)}, mac_root=provider.secret("mac-root"), provider=provider,
                   audit_keys=audit_keys, audit_active=audit_active, **kw)

    @classmethod
    def generate_file(cls, path: Path | str, *, key_id: str | None = None, **kw) -> "Keyring":
        """A new keyring file readable by its owner alone (dev mode, or first install)."""
        path = Path(path)
        key_id = key_id or new_key_id()
        _write(path, key_id, {key_id: AESGCM.generate_key(bit_length=256)}, exclusive=True)
        return cls.from_file(path, **kw)

    def reload(self) -> bool:
        """Re-read the file if it changed; True when it did. A broken file keeps the keys we have."""
        self._checked = time.monotonic()
        if self.path is None:
            return False
        mtime = _mtime(self.path)
        if mtime is None or mtime == self._mtime:
            return False
        active, keys, _ = _read_all(self.path)
        self._install(active, keys)
        self._mtime = mtime
        return True

    def _maybe_reload(self, *, force: bool = False) -> None:
        if self.provider is not None:
            if force or time.monotonic() - self._checked >= self.reload_interval:
                self._checked = time.monotonic()
                active = self.provider.current_key_id()
                keys = {k: self._keys[k] for k in self._aead}
                if active not in keys:
                    keys[active] = self.provider.data_key(active)
                self._install(active, keys)
            return
        if self.path is None:
            return
        if force or time.monotonic() - self._checked >= self.reload_interval:
            try:
                self.reload()
            except KeyringError:
                pass  # a half-written or broken file: keep serving with the keys in memory

    # -- use -----------------------------------------------------------------------------
    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._aead)

    @property
    def active_prefix(self) -> str:
        """Tokens written with the active key start with this (for finding values to re-encrypt)."""
        return f"{VERSION}.{self.active}."

    def seal(self, plaintext: str, *, context: str) -> Sealed:
        if not isinstance(plaintext, str):
            raise TypeError("only text is encrypted; encode other values first")
        if not context:
            raise ValueError("a context (where the value lives) is required")
        self._maybe_reload()
        nonce = secrets.token_bytes(NONCE_BYTES)
        return Sealed(self.active, nonce, self._aead[self.active].encrypt(nonce, plaintext.encode(), context.encode()))

    def open(self, sealed: Sealed, *, context: str) -> str:
        aead = self._aead.get(sealed.key_id)
        if aead is None and self.provider is not None:
            try:
                self._install(self.active, {**self._keys, sealed.key_id: self.provider.data_key(sealed.key_id)})
            except KeyringError:
                pass
            aead = self._aead.get(sealed.key_id)
        if aead is None:
            self._maybe_reload(force=True)
            aead = self._aead.get(sealed.key_id)
            if aead is None:
                raise KeyringError(f"key {sealed.key_id} is not in the keyring")
        try:
            return aead.decrypt(sealed.nonce, sealed.ciphertext, context.encode()).decode()
        except InvalidTag as exc:
            raise DecryptionError("the value does not decrypt with its key in this place (tampered or moved)") from exc

    def encrypt(self, plaintext: str, *, context: str) -> str:
        return self.seal(plaintext, context=context).token

    def decrypt(self, token: str, *, context: str) -> str:
        return self.open(Sealed.parse(token), context=context)

    def secret(self, purpose: str) -> bytes:
        """A 32-byte secret for one purpose (HKDF of the keyring's MAC root); never stored in the database."""
        return _derive(self._mac_root, purpose)

    @property
    def audit_key_ids(self) -> tuple[str, ...]:
        """Every audit-chain key, oldest first: "" (derived from the MAC root), then the rotated ones."""
        return ("", *self._audit_keys)

    def audit_secret(self, key_id: str, purpose: str) -> bytes:
        """A secret of audit key `key_id` for one purpose ("audit-chain", "audit-checkpoint")."""
        if not key_id:
            return self.secret(purpose)
        if key_id not in self._audit_keys:
            raise KeyringError(f"audit key {key_id} is not in the keyring")
        return _derive(self._audit_keys[key_id], purpose)

    def blind_index(self, value: str, *, context: str) -> str:
        """A keyed tag of `value` for exact-match search of an encrypted field (HMAC-SHA256, 32 hex).

        `context` names the field (``"registration:person:specific_need"``), so equal values of two fields
        give different tags; without the key nobody can test a guessed value against the column."""
        mac = hmac.HMAC(self.secret("blind-index"), hashes.SHA256())
        mac.update(context.encode() + b"\x00" + value.encode())
        return mac.finalize().hex()[:32]

    def encrypt_field(self, plaintext: str, *, service: str, aggregate: str, aggregate_id: str, field: str) -> str:
        """`encrypt` with the context that binds service, aggregate and field (`field_context`)."""
        return self.encrypt(plaintext, context=field_context(service, aggregate, aggregate_id, field))

    def decrypt_field(self, token: str, *, service: str, aggregate: str, aggregate_id: str, field: str) -> str:
        """The field's plaintext; plain text where a ciphertext is expected is refused (DecryptionError)."""
        return self.decrypt(token, context=field_context(service, aggregate, aggregate_id, field))

    def key_id_of(self, token: str) -> str:
        return Sealed.parse(token).key_id

    def needs_reencrypt(self, token: str) -> bool:
        return not token.startswith(self.active_prefix)

    def reencrypt(self, token: str, *, context: str) -> str:
        """The same plaintext under the active key (unchanged when already there)."""
        self._maybe_reload()
        if not self.needs_reencrypt(token):
            return token
        return self.encrypt(self.decrypt(token, context=context), context=context)


def field_context(service: str, aggregate: str, aggregate_id: str, field: str) -> str:
    """The associated data of an encrypted field: ``<service>:<aggregate>:<id>:<field>`` (ids only).

    A ciphertext decrypts only in the place it was written for: not in another service, record or field."""
    for part in (service, aggregate, aggregate_id):
        if not part or ":" in part:
            raise ValueError(f"a context part must be a non-empty id without ':' ({part!r})")
    if not field:
        raise ValueError("a context needs the field's name")
    return f"{service}:{aggregate}:{aggregate_id}:{field}"


class FileKeyProvider:
    """The development provider: the JSON keyring file (see the module's doc), re-read when it changes."""

    def __init__(self, path: Path | str):
        self.path = Path(path)

    def current_key_id(self) -> str:
        return _read_all(self.path)[0]

    def data_key(self, key_id: str) -> bytes:
        keys = _read_all(self.path)[1]
        if key_id not in keys:
            raise KeyringError(f"key {key_id} is not in the keyring")
        return keys[key_id]

    def key_ids(self) -> Iterable[str]:
        return tuple(_read_all(self.path)[1])

    def audit_keys(self) -> tuple[str, dict[str, bytes]]:
        """The active audit key's id and the rotated audit keys, oldest first (see the module's doc)."""
        return _read_audit(self.path)

    def secret(self, purpose: str) -> bytes:
        _, keys, mac_root = _read_all(self.path)
        root = mac_root if mac_root is not None else _derive(next(iter(keys.values())), "mac-root")
        return root if purpose == "mac-root" else _derive(root, purpose)


# -- the keyring file, the service's settings and the `pana keys` commands -----------------------

def new_key_id() -> str:
    return "k" + time.strftime("%Y%m%d") + "-" + secrets.token_hex(3)


def default_keyring_path(service: str, state_dir: Path | None = None) -> Path:
    """<state dir>/<service>-keyring.json (the state directory from `<PREFIX>STATE_DIR` when not given)."""
    from .settings import state_dir_from_env

    return (state_dir or state_dir_from_env(service)) / f"{service}-keyring.json"


def keyring_from_settings(settings) -> Keyring:
    """The service's keyring: from `<PREFIX>KEY_PROVIDER` (`module:callable`), else the file provider:
    `<PREFIX>KEYRING_FILE`; dev mode generates <state dir>/<service>-keyring.json."""
    provider = getattr(settings, "key_provider", "file") or "file"
    if provider != "file":
        return Keyring.from_provider(load_provider(provider, settings))
    configured = getattr(settings, "keyring_file", None)
    path = Path(configured) if configured else None
    if path is None:
        if not settings.dev_mode:
            raise KeyringError("no keyring configured: set <SERVICE>_KEYRING_FILE (personal data is encrypted at rest)")
        path = default_keyring_path(settings.service_name, settings.state_path())
    if path.exists():
        return Keyring.from_file(path)
    if not settings.dev_mode:
        raise KeyringError(f"the keyring file {path} does not exist; create it with `pana keys rotate`")
    try:
        return Keyring.generate_file(path)
    except FileExistsError:  # another process made it first
        return Keyring.from_file(path)


def load_provider(spec: str, settings) -> KeyProvider:
    """`module:callable` → the callable(settings), which must give a KeyProvider."""
    import importlib

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise KeyringError(f"key provider {spec!r}: expected 'file' or 'module:callable'")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise KeyringError(f"key provider {spec!r} cannot be loaded: {exc}") from exc
    provider = factory(settings)
    if not isinstance(provider, KeyProvider):
        raise KeyringError(f"key provider {spec!r} does not give a KeyProvider")
    return provider


def rotate_file(path: Path | str, *, activate: bool = True, key_id: str | None = None) -> str:
    """Add a new key (active unless told otherwise); creates the file when missing. Returns its id."""
    path = Path(path)
    key_id = key_id or new_key_id()
    if not _KEY_ID.match(key_id):
        raise KeyringError(f"key id {key_id!r} must be 1-64 of A-Z a-z 0-9 _ -")
    if not path.exists():
        _write(path, key_id, {key_id: AESGCM.generate_key(bit_length=256)}, exclusive=True)
        return key_id
    active, keys = _read(path)
    if key_id in keys:
        raise KeyringError(f"key {key_id} already exists")
    mac_root = _mac_root_of(path)
    keys[key_id] = AESGCM.generate_key(bit_length=256)
    _write(path, key_id if activate else active, keys, mac_root=mac_root)
    return key_id


def activate_in_file(path: Path | str, key_id: str) -> None:
    path = Path(path)
    _, keys = _read(path)
    if key_id not in keys:
        raise KeyringError(f"key {key_id} is not in {path}")
    _write(path, key_id, keys, mac_root=_mac_root_of(path))


def retire_in_file(path: Path | str, key_id: str) -> None:
    """Remove a key. Only after every value it sealed has been re-encrypted: what it sealed is lost."""
    path = Path(path)
    active, keys = _read(path)
    if key_id == active:
        raise KeyringError("the active key cannot be retired; rotate first")
    if key_id not in keys:
        raise KeyringError(f"key {key_id} is not in {path}")
    mac_root = _mac_root_of(path)  # kept: blind indexes and the audit chain outlive the data keys
    del keys[key_id]
    _write(path, active, keys, mac_root=mac_root)


AUDIT_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,15}$")  # short: an entry's MAC names it within 64 characters


def rotate_audit_in_file(path: Path | str, *, activate: bool = True, key_id: str | None = None) -> str:
    """Add an audit-chain key (active for new entries unless told otherwise). Returns its id.

    Entries written before keep verifying with their key, which stays in the file for good. Several instances:
    add it with `activate=False` everywhere first, then activate (an instance never writes with an older key than
    the log's last entry, and refuses to write when it lacks that key)."""
    path = Path(path)
    active, keys, mac_root = _read_all(path)
    audit_active, audit_keys = _read_audit(path)
    key_id = key_id or "a" + time.strftime("%y%m%d") + "-" + secrets.token_hex(2)
    if not AUDIT_KEY_ID.match(key_id):
        raise KeyringError(f"audit key id {key_id!r} must be 1-15 of A-Z a-z 0-9 _ -")
    if key_id in audit_keys:
        raise KeyringError(f"audit key {key_id} already exists")
    audit_keys[key_id] = secrets.token_bytes(KEY_BYTES)
    _write(path, active, keys, mac_root=_mac_root_of(path),
           audit=(key_id if activate else audit_active, audit_keys))
    return key_id


def activate_audit_in_file(path: Path | str, key_id: str) -> None:
    """Make an audit key the one new entries use. Only forward: the log may not go back to an older key."""
    path = Path(path)
    active, keys, _ = _read_all(path)
    audit_active, audit_keys = _read_audit(path)
    order = ["", *audit_keys]
    if key_id not in order:
        raise KeyringError(f"audit key {key_id} is not in {path}")
    if order.index(key_id) < order.index(audit_active):
        raise KeyringError(f"audit key {key_id} is older than the active {audit_active}: audit keys only move forward")
    _write(path, active, keys, mac_root=_mac_root_of(path), audit=(key_id, audit_keys))


def describe_file(path: Path | str) -> dict[str, Any]:
    """Key ids and which is active; never the key material."""
    active, keys = _read(Path(path))
    audit_active, audit_keys = _read_audit(Path(path))
    info: dict[str, Any] = {"active": active, "keys": sorted(keys)}
    if audit_keys:  # rotated audit keys, oldest first, and the active one ("" : derived from the MAC root)
        info.update(audit_active=audit_active, audit_keys=list(audit_keys))
    return info


async def reencrypt_column(db, keyring: Keyring, table, *, id_column: str, value_column: str,
                           context: Callable[[Any], str], batch_size: int = 200) -> int:
    """Re-encrypt, batch by batch, every token in `table.value_column` not under the active key.

    `table` is a SQLAlchemy Table (or a model's `__table__`); `context(row_id)` gives each value's
    context. Each batch is its own short transaction, so the service keeps serving. Returns the
    number of values re-encrypted. Safe to run again after an interruption.
    """
    from sqlalchemy import and_, select, update

    id_col, val_col = table.c[id_column], table.c[value_column]
    done = 0
    last = None
    while True:
        async with db.transaction() as session:
            stmt = select(id_col, val_col).where(and_(val_col.is_not(None),
                                                       ~val_col.startswith(keyring.active_prefix, autoescape=True)))
            if last is not None:
                stmt = stmt.where(id_col > last)
            rows = (await session.execute(stmt.order_by(id_col).limit(batch_size))).all()
            if not rows:
                return done
            for row_id, token in rows:
                fresh = keyring.reencrypt(token, context=context(row_id))
                # Only if nobody changed the value meanwhile (it then already uses the active key).
                await session.execute(update(table).where(and_(id_col == row_id, val_col == token)).values({value_column: fresh}))
                done += 1
            last = rows[-1][0]


# -- internals --------------------------------------------------------------------------------

def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _b64d(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise DecryptionError("not an encrypted value (bad base64)") from exc


def _mtime(path: Path) -> tuple[int, int, int] | None:
    """The file's signature: rotation replaces the file (new inode), so a change shows even within one mtime tick."""
    try:
        st = path.stat()
        return (st.st_mtime_ns, st.st_ino, st.st_size)
    except OSError:
        return None


def _read(path: Path) -> tuple[str, dict[str, bytes]]:
    active, keys, _ = _read_all(path)
    return active, keys


def _mac_root_of(path: Path) -> bytes:
    """The file's MAC root; a file written before it had one derives it from its first key (and keeps that)."""
    _, keys, mac_root = _read_all(path)
    return mac_root if mac_root is not None else _derive(next(iter(keys.values())), "mac-root")


def _read_all(path: Path) -> tuple[str, dict[str, bytes], bytes | None]:
    try:
        data = json.loads(path.read_text())
        active = str(data.get("active") or data["current"])
        keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
        mac_root = base64.b64decode(data["mac_root"], validate=True) if data.get("mac_root") else None
        if not keys or (mac_root is not None and len(mac_root) != KEY_BYTES):
            raise ValueError("no keys, or a MAC root that is not 256 bits")
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        # Never echo the file's content: it holds the keys.
        raise KeyringError(f"cannot read the keyring {path}: {type(exc).__name__}") from exc
    if active not in keys:
        raise KeyringError(f"the keyring {path} names an active key it does not hold")
    return active, keys, mac_root


def _read_audit(path: Path) -> tuple[str, dict[str, bytes]]:
    """The rotated audit keys (oldest first) and the active one ("" : the key derived from the MAC root)."""
    try:
        data = json.loads(path.read_text())
        audit_keys = {str(k): base64.b64decode(v, validate=True) for k, v in (data.get("audit_keys") or {}).items()}
        audit_active = str(data.get("audit_active") or "")
        if any(len(v) != KEY_BYTES or not AUDIT_KEY_ID.match(k) for k, v in audit_keys.items()):
            raise ValueError("an audit key that is not 256 bits or has a bad id")
    except (OSError, ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise KeyringError(f"cannot read the keyring {path}: {type(exc).__name__}") from exc
    if audit_active and audit_active not in audit_keys:
        raise KeyringError(f"the keyring {path} names an active audit key it does not hold")
    return audit_active, audit_keys


def _write(path: Path, active: str, keys: dict[str, bytes], *, exclusive: bool = False,
           mac_root: bytes | None = None, audit: tuple[str, dict[str, bytes]] | None = None) -> None:
    """Atomically (temp file + rename), owner-readable only. The audit keys are kept unless `audit` replaces them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mac_root = mac_root if mac_root is not None else secrets.token_bytes(KEY_BYTES)
    if audit is None and not exclusive and path.exists():
        audit = _read_audit(path)  # a data-key rotation never loses an audit key
    content: dict[str, Any] = {"active": active, "keys": {k: base64.b64encode(v).decode() for k, v in keys.items()},
                               "mac_root": base64.b64encode(mac_root).decode()}
    if audit is not None and audit[1]:
        content["audit_keys"] = {k: base64.b64encode(v).decode() for k, v in audit[1].items()}
        if audit[0]:
            content["audit_active"] = audit[0]
    data = json.dumps(content, indent=2)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# -- sealed documents: an aggregate's personal fields encrypted inside its JSON document -----------------------

from sqlalchemy import JSON as _JSON  # noqa: E402
from sqlalchemy.types import TypeDecorator  # noqa: E402

SEALED_MARK = "_sealed"  # in a stored document: the sealing version its fields carry
_DIALECT_ATTR = "_pana_keyring"


def attach_keyring(engine, keyring: "Keyring") -> None:
    """Sealed columns of this engine's tables encrypt and decrypt with `keyring` (per engine, so several services
    in one process each use their own)."""
    sync_engine = getattr(engine, "sync_engine", engine)
    setattr(sync_engine.dialect, _DIALECT_ATTR, keyring)


def keyring_of(session_or_engine) -> "Keyring":
    """The keyring attached to a session's (or engine's) engine; refuses when there is none."""
    bind = getattr(session_or_engine, "bind", None) or session_or_engine
    sync_engine = getattr(bind, "sync_engine", bind)
    keyring = getattr(sync_engine.dialect, _DIALECT_ATTR, None)
    if keyring is None:
        raise KeyringError("no keyring attached to this database: personal fields are encrypted at rest")
    return keyring


class SealedDocument(TypeDecorator):
    """A JSON document whose personal `fields` are stored as ciphertexts, each bound to
    (service, aggregate, the document's own id, field name) by `field_context`.

    `nested` names lists of dicts holding more of the same fields, as (list key, dict key) pairs: a person's
    history keeps old values under history[i].previous, sealed as `history/<i>/previous/<field>`.
    Writing seals (every listed field present, empty values too); reading requires the mark and a ciphertext in
    every listed field: plain text, or a value moved from another field or record, is refused. Documents written
    before sealing have no mark: `upgrade_sealed_rows` re-seals them (a service does it at start-up).
    """

    impl = _JSON
    cache_ok = True

    def __init__(self, *, service: str, aggregate: str, id_key: str, fields: tuple[str, ...],
                 nested: tuple[tuple[str, str], ...] = ()):
        super().__init__()
        self.service, self.aggregate, self.id_key = service, aggregate, id_key
        self.fields, self.nested = tuple(fields), tuple(nested)

    def _places(self, doc: dict):
        for name in self.fields:
            if name in doc:
                yield doc, name, name
        for list_key, dict_key in self.nested:
            for i, item in enumerate(doc.get(list_key) or []):
                inner = item.get(dict_key) if isinstance(item, dict) else None
                if isinstance(inner, dict):
                    for name in self.fields:
                        if name in inner:
                            yield inner, name, f"{list_key}/{i}/{dict_key}/{name}"

    @staticmethod
    def _copy(doc: dict, nested) -> dict:
        doc = dict(doc)
        for list_key, dict_key in nested:
            if isinstance(doc.get(list_key), list):
                doc[list_key] = [{**item, dict_key: dict(item[dict_key])} if isinstance(item, dict)
                                 and isinstance(item.get(dict_key), dict) else item for item in doc[list_key]]
        return doc

    def seal(self, doc: dict, keyring: "Keyring") -> dict:
        if SEALED_MARK in doc:
            raise ValueError("the document is already sealed")
        doc = self._copy(doc, self.nested)
        ident = str(doc[self.id_key])
        for container, key, name in list(self._places(doc)):
            container[key] = keyring.encrypt_field(json.dumps(container[key], separators=(",", ":")),
                                                   service=self.service, aggregate=self.aggregate, aggregate_id=ident,
                                                   field=name)
        doc[SEALED_MARK] = 1
        return doc

    def open(self, doc: dict, keyring: "Keyring") -> dict:
        if doc.get(SEALED_MARK) != 1:
            raise DecryptionError(f"{self.aggregate} {doc.get(self.id_key)} is stored without its fields sealed "
                                  "(not yet upgraded, or written around the service)")
        doc = self._copy(doc, self.nested)
        del doc[SEALED_MARK]
        ident = str(doc[self.id_key])
        for container, key, name in list(self._places(doc)):
            container[key] = json.loads(keyring.decrypt_field(container[key], service=self.service,
                                                              aggregate=self.aggregate, aggregate_id=ident, field=name))
        return doc

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        keyring = getattr(dialect, _DIALECT_ATTR, None)
        if keyring is None:
            raise KeyringError("no keyring attached to this database: personal fields are encrypted at rest")
        return self.seal(value, keyring)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        keyring = getattr(dialect, _DIALECT_ATTR, None)
        if keyring is None:
            raise KeyringError("no keyring attached to this database: personal fields are encrypted at rest")
        return self.open(value, keyring)


def _marked_sealed(doc: Any) -> bool:
    return isinstance(doc, dict) and SEALED_MARK in doc


@dataclass(frozen=True)
class SealTarget:
    """A table whose document column may hold rows stored before sealing, and how to seal them at start-up.

    By default the column is a `SealedDocument`: a row is sealed when its stored JSON carries the mark, and writing
    the document back as read seals it (the column type does). A service whose documents are sealed otherwise gives
    `is_sealed(doc)` and `seal(doc, keyring)` (the value to store). `also(doc, keyring)` gives other columns to write
    with it (search columns derived from the fields, a keyed fingerprint). `what` names the rows in the log."""

    table: Any
    id_column: str
    column: str = "document"
    what: str = "row(s)"
    also: Callable[[dict, "Keyring"], dict] | None = None
    is_sealed: Callable[[Any], bool] = _marked_sealed
    seal: Callable[[dict, "Keyring"], dict] | None = None


async def seal_unsealed_rows(session, target: SealTarget, *, keyring: "Keyring | None" = None,
                             batch_size: int = 200) -> int:
    """Seal, batch by batch (keyset on the id), every row of `target` stored before sealing. Idempotent: a sealed
    row is skipped without decrypting. `keyring` defaults to the session's (`keyring_of`); it is looked up only
    when `seal` or `also` needs it. Returns how many were sealed."""
    from sqlalchemy import select, type_coerce, update

    table = target.table
    id_col, doc_col = table.c[target.id_column], table.c[target.column]
    raw = type_coerce(doc_col, _JSON)  # the stored JSON as it is, not through the sealing type
    needs_keyring = target.seal is not None or target.also is not None
    done, last = 0, None
    while True:
        stmt = select(id_col, raw).order_by(id_col).limit(batch_size)
        if last is not None:
            stmt = stmt.where(id_col > last)
        rows = (await session.execute(stmt)).all()
        if not rows:
            return done
        for row_id, doc in rows:
            if not isinstance(doc, dict) or target.is_sealed(doc):
                continue
            if keyring is None and needs_keyring:
                keyring = keyring_of(session)
            value = target.seal(doc, keyring) if target.seal else doc
            extra = target.also(doc, keyring) if target.also else {}
            await session.execute(update(table).where(id_col == row_id).values({target.column: value, **extra}))
            done += 1
        last = rows[-1][0]


async def upgrade_sealed_rows(session, table, *, id_column: str, column: str, batch_size: int = 200,
                              also: Callable[[dict], dict] | None = None) -> int:
    """`seal_unsealed_rows` for a `SealedDocument` column named directly; `also(doc)` as there, without the keyring."""
    target = SealTarget(table, id_column, column, also=(lambda doc, _keyring: also(doc)) if also else None)
    return await seal_unsealed_rows(session, target, batch_size=batch_size)


async def seal_unsealed(session, *targets: SealTarget, keyring: "Keyring | None" = None) -> dict[str, int]:
    """`seal_unsealed_rows` for each target in one session: how many rows of each (by `what`) were sealed."""
    return {t.what: await seal_unsealed_rows(session, t, keyring=keyring) for t in targets}


def sealing_at_startup(service: str, *targets: SealTarget):
    """A start-up hook (`ServiceDefinition.on_startup`): before serving, seal in one transaction the rows of
    `targets` stored before sealing, with the app's keyring, and log how many. Idempotent, so every start runs it."""
    import logging

    async def seal_stored_rows(app) -> None:
        async with app.state.db.transaction() as session:
            sealed = await seal_unsealed(session, *targets, keyring=app.state.keyring)
        if any(sealed.values()):
            logging.getLogger(service).info("sealed stored rows written before sealing: %s",
                                            ", ".join(f"{n} {what}" for what, n in sealed.items() if n))

    return seal_stored_rows
