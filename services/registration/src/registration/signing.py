"""The Ed25519 key that signs document QR payloads: from a settings path, generated in the state directory in dev mode."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def load_signing_key(path: str | None, dev_mode: bool, state_dir: Path | None = None) -> Ed25519PrivateKey | None:
    """The configured key; generated in the state directory in dev mode. Outside dev mode the service does not
    start without one (`signing_key_path` is a secret setting); None here only for an app built without that check."""
    if path:
        key_path = Path(path)
    elif dev_mode:
        if state_dir is None:
            from pana_kit.settings import default_state_dir

            state_dir = default_state_dir()
        key_path = state_dir / "registration-signing-key.pem"
    else:
        return None
    if not key_path.exists():
        if not dev_mode:
            raise RuntimeError(f"signing key {key_path} does not exist")
        key_path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        key_path.write_bytes(pem)
        key_path.chmod(0o600)
    key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{key_path} is not an Ed25519 private key")
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def public_raw(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PrivateKey) -> str:
    """The key's id in QR claims (`kid`) and the JWKS: the first 8 bytes of the SHA-256 of the raw public key,
    base64url (RFC 7638 style, short): a rotated key gets a new id, so a page holding several knows which."""
    import base64
    import hashlib

    return base64.urlsafe_b64encode(hashlib.sha256(public_raw(key)).digest()[:8]).rstrip(b"=").decode()


def public_jwks(key: Ed25519PrivateKey) -> dict:
    """The public key as a JWK set (RFC 8037 OKP, Ed25519), the form WebCrypto imports."""
    import base64

    x = base64.urlsafe_b64encode(public_raw(key)).rstrip(b"=").decode()
    return {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key_id(key), "alg": "EdDSA", "use": "sig"}]}
