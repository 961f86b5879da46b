"""Field encryption at rest: AES-256-GCM, each value tagged with the id of the key that sealed it.

A local copy for this service (services do not import each other); it belongs in the kit.
Sealed form: "enc:v1:<key id>:<base64url(nonce || ciphertext+tag)>". The case id is
bound as associated data, so a value moved to another case does not open.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc:v1:"


class FieldCipher:
    def __init__(self, keys: dict[str, str], active_key_id: str):
        self._keys: dict[str, AESGCM] = {}
        for key_id, b64 in keys.items():
            raw = base64.b64decode(b64)
            if len(raw) not in (16, 24, 32):
                raise ValueError(f"field key {key_id} must be 16, 24 or 32 bytes")
            self._keys[key_id] = AESGCM(raw)
        if active_key_id not in self._keys:
            raise ValueError(f"no field key with id {active_key_id}")
        self.active_key_id = active_key_id

    def seal(self, plaintext: str, context: str) -> str:
        if plaintext is None or plaintext == "" or plaintext.startswith(PREFIX):
            return plaintext
        nonce = os.urandom(12)
        ct = self._keys[self.active_key_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}{self.active_key_id}:{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def open(self, sealed: str, context: str) -> str:
        if not sealed or not sealed.startswith(PREFIX):
            return sealed
        key_id, _, body = sealed[len(PREFIX):].partition(":")
        key = self._keys.get(key_id)
        if key is None:
            raise LookupError(f"field key {key_id} is not configured")
        raw = base64.urlsafe_b64decode(body.encode())
        try:
            return key.decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise ValueError("sealed value does not open with its key (tampered or moved)") from exc
