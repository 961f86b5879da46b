"""The claim at rest: AES-GCM with a key id stored beside each value.

Each value is bound to where it belongs (associated data), so a ciphertext moved
to another application or field does not decrypt. Old keys stay in the keyring
for reading; new values use the current key.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class KeyringError(RuntimeError):
    pass


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


class Keyring:
    def __init__(self, current: str, keys: dict[str, bytes]):
        if current not in keys:
            raise KeyringError("the keyring's current key id is not among its keys")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise KeyringError(f"key {key_id} is not 256 bits")
        self.current = current
        self._keys = {k: AESGCM(v) for k, v in keys.items()}

    @classmethod
    def load(cls, path: Path) -> "Keyring":
        try:
            data = json.loads(path.read_text())
            keys = {str(k): base64.b64decode(v) for k, v in data["keys"].items()}
            return cls(str(data["current"]), keys)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"cannot read the keyring {path}: {type(exc).__name__}") from exc

    @classmethod
    def generate(cls, path: Path) -> "Keyring":
        """Dev mode only: a new keyring file readable by its owner alone."""
        key_id = "dev-" + secrets.token_hex(4)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"current": key_id, "keys": {key_id: base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh)
        return cls.load(path)

    def seal(self, plaintext: str, *, context: str) -> Sealed:
        nonce = secrets.token_bytes(12)
        ct = self._keys[self.current].encrypt(nonce, plaintext.encode(), context.encode())
        return Sealed(self.current, nonce, ct)

    def open(self, sealed: Sealed, *, context: str) -> str:
        aead = self._keys.get(sealed.key_id)
        if aead is None:
            raise KeyringError(f"key {sealed.key_id} is not in the keyring")
        try:
            return aead.decrypt(sealed.nonce, sealed.ciphertext, context.encode()).decode()
        except InvalidTag as exc:
            raise KeyringError("a stored value does not decrypt with its key and place") from exc


def keyring_from_settings(settings) -> Keyring:
    if settings.keyring_file:
        path = Path(settings.keyring_file)
        if not path.exists() and settings.dev_mode:
            return Keyring.generate(path)
        return Keyring.load(path)
    if not settings.dev_mode:
        raise KeyringError("set RSD_KEYRING_FILE: the claim is encrypted at rest")
    from pana_kit.settings import repo_root

    path = repo_root() / "var" / "rsd-keyring.json"
    return Keyring.load(path) if path.exists() else Keyring.generate(path)
