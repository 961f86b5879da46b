"""Field encryption at rest: round trip, bound to its place, tamper-evident, rotation without downtime."""

import base64
import json
import os
import stat

import pytest
from pana_kit import crypto
from pana_kit.crypto import DecryptionError, Keyring, KeyringError, Sealed, is_token, keyring_from_settings
from pana_kit.settings import ServiceSettings

CTX = "rsd:application:6f1c2b7e:narrative"


@pytest.fixture
def keyring(tmp_path) -> Keyring:
    return Keyring.generate_file(tmp_path / "keyring.json", key_id="k1")


def test_round_trip_and_token_shape(keyring):
    token = keyring.encrypt("Я боюсь вернуться домой", context=CTX)
    version, key_id, nonce, ciphertext = token.split(".")
    assert (version, key_id) == ("v1", "k1")
    assert len(base64.urlsafe_b64decode(nonce + "==")) == 12
    assert "боюсь" not in token
    assert keyring.decrypt(token, context=CTX) == "Я боюсь вернуться домой"
    assert keyring.encrypt("same", context=CTX) != keyring.encrypt("same", context=CTX)  # fresh nonce
    assert keyring.decrypt(keyring.encrypt("", context=CTX), context=CTX) == ""
    assert is_token(token) and not is_token("plain text") and not is_token(None)


def test_a_value_moved_to_another_record_or_field_is_refused(keyring):
    token = keyring.encrypt("narrative", context=CTX)
    for elsewhere in ("rsd:application:00000000:narrative", "rsd:application:6f1c2b7e:assessment"):
        with pytest.raises(DecryptionError):
            keyring.decrypt(token, context=elsewhere)


def test_tampered_values_are_refused(keyring):
    token = keyring.encrypt("narrative", context=CTX)
    version, key_id, nonce, ciphertext = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(ciphertext + "=" * (-len(ciphertext) % 4)))
    raw[0] ^= 1
    flipped = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (f"{version}.{key_id}.{nonce}.{flipped}", token[:-4], "v2" + token[2:], "v1.k1.!!.??", "garbage"):
        with pytest.raises(KeyringError):
            keyring.decrypt(bad, context=CTX)
    with pytest.raises(KeyringError, match="not in the keyring"):
        keyring.decrypt(f"{version}.k9.{nonce}.{ciphertext}", context=CTX)


def test_rotation_old_values_still_read_new_values_use_the_new_key(tmp_path):
    path = tmp_path / "keyring.json"
    running = Keyring.generate_file(path, key_id="k1", reload_interval=0)
    old = running.encrypt("before rotation", context=CTX)

    new_id = crypto.rotate_file(path, key_id="k2")
    assert crypto.describe_file(path) == {"active": "k2", "keys": ["k1", "k2"]}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    # The running instance picks the new key up without a restart.
    new = running.encrypt("after rotation", context=CTX)
    assert running.key_id_of(new) == new_id == "k2"
    assert running.decrypt(old, context=CTX) == "before rotation"
    assert running.needs_reencrypt(old) and not running.needs_reencrypt(new)
    fresh = running.reencrypt(old, context=CTX)
    assert running.key_id_of(fresh) == "k2" and running.decrypt(fresh, context=CTX) == "before rotation"

    # An instance that has not re-read the file yet still reads values written with the new key.
    stale = Keyring.from_file(path, reload_interval=3600)
    crypto.rotate_file(path, key_id="k3")
    written_elsewhere = Keyring.from_file(path).encrypt("k3 value", context=CTX)
    assert stale.decrypt(written_elsewhere, context=CTX) == "k3 value"

    crypto.retire_in_file(path, "k1")
    with pytest.raises(KeyringError):
        crypto.retire_in_file(path, "k3")  # the active key
    assert "k1" not in Keyring.from_file(path).key_ids


def test_staged_rotation_adds_before_it_activates(tmp_path):
    path = tmp_path / "keyring.json"
    Keyring.generate_file(path, key_id="k1")
    crypto.rotate_file(path, key_id="k2", activate=False)
    assert Keyring.from_file(path).active == "k1"
    crypto.activate_in_file(path, "k2")
    assert Keyring.from_file(path).active == "k2"


def test_keyring_from_settings_generates_in_dev_and_refuses_in_production(tmp_path):
    dev = ServiceSettings(service_name="rsd", dev_mode=True, keyring_file=str(tmp_path / "dev.json"))
    ring = keyring_from_settings(dev)
    assert (tmp_path / "dev.json").exists() and keyring_from_settings(dev).active == ring.active
    with pytest.raises(KeyringError):
        keyring_from_settings(ServiceSettings(service_name="rsd", dev_mode=False))
    with pytest.raises(KeyringError, match="does not exist"):
        keyring_from_settings(ServiceSettings(service_name="rsd", dev_mode=False, keyring_file=str(tmp_path / "none.json")))


def test_bad_keyrings_are_refused_without_echoing_keys(tmp_path):
    path = tmp_path / "k.json"
    path.write_text(json.dumps({"active": "k1", "keys": {"k1": base64.b64encode(b"short").decode()}}))
    with pytest.raises(KeyringError, match="256 bits"):
        Keyring.from_file(path)
    path.write_text(json.dumps({"active": "k2", "keys": {"k1": base64.b64encode(os.urandom(32)).decode()}}))
    with pytest.raises(KeyringError, match="active key"):
        Keyring.from_file(path)
    secret = base64.b64encode(os.urandom(32)).decode()
    path.write_text('{"active": "k1", "keys": {"k1": "' + secret + '"')  # truncated JSON
    with pytest.raises(KeyringError) as caught:
        Keyring.from_file(path)
    assert secret not in str(caught.value)


def test_earlier_local_formats_still_read(tmp_path):
    """rsd's keyring file ("current") and statelessness's enc:v1: values move to the kit without re-encryption."""
    key = os.urandom(32)
    path = tmp_path / "rsd-keyring.json"
    path.write_text(json.dumps({"current": "dev-1", "keys": {"dev-1": base64.b64encode(key).decode()}}))
    ring = Keyring.from_file(path)
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    ct = AESGCM(key).encrypt(nonce, b"notes", CTX.encode())
    legacy = "enc:v1:dev-1:" + base64.urlsafe_b64encode(nonce + ct).decode()
    assert ring.decrypt(legacy, context=CTX) == "notes"
    assert ring.open(Sealed("dev-1", nonce, ct), context=CTX) == "notes"  # rsd's separate columns
    assert ring.needs_reencrypt(legacy)


async def test_reencrypt_column_moves_every_value_to_the_active_key(tmp_path):
    from pana_kit.db import Database
    from sqlalchemy import Column, Integer, MetaData, Table, Text, select

    meta = MetaData()
    notes = Table("notes", meta, Column("id", Integer, primary_key=True), Column("body", Text, nullable=True))
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'r.db'}")
    path = tmp_path / "keyring.json"
    ring = Keyring.generate_file(path, key_id="k1", reload_interval=0)
    async with db.engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    async with db.transaction() as s:
        for i in range(1, 8):
            await s.execute(notes.insert().values(id=i, body=ring.encrypt(f"note {i}", context=f"t:note:{i}")))
        await s.execute(notes.insert().values(id=99, body=None))
    crypto.rotate_file(path, key_id="k2")
    ring.reload()
    assert await crypto.reencrypt_column(db, ring, notes, id_column="id", value_column="body",
                                         context=lambda i: f"t:note:{i}", batch_size=3) == 7
    async with db.session() as s:
        rows = (await s.execute(select(notes.c.id, notes.c.body).where(notes.c.body.is_not(None)))).all()
    assert all(ring.key_id_of(b) == "k2" and ring.decrypt(b, context=f"t:note:{i}") == f"note {i}" for i, b in rows)
    assert await crypto.reencrypt_column(db, ring, notes, id_column="id", value_column="body",
                                         context=lambda i: f"t:note:{i}") == 0
    await db.dispose()


# -- issue 15: keys through a KMS-style provider; keyed blind indexes; field-bound contexts ----------------------

class MemoryKms:
    """A stand-in for a KMS: data keys by id and a current id, as crypto.KeyProvider asks."""

    def __init__(self):
        self.keys = {"kms-1": os.urandom(32)}
        self.current = "kms-1"
        self.fetched: list[str] = []

    def current_key_id(self) -> str:
        return self.current

    def data_key(self, key_id: str) -> bytes:
        self.fetched.append(key_id)
        if key_id not in self.keys:
            raise KeyringError(f"key {key_id} is not in the KMS")
        return self.keys[key_id]

    def key_ids(self):
        return tuple(self.keys)

    def secret(self, purpose: str) -> bytes:
        return b"m" * 32 if purpose == "mac-root" else crypto._derive(b"m" * 32, purpose)


def make_memory_kms(settings):
    return MemoryKms()


def test_keys_come_from_the_provider_the_settings_name(tmp_path):
    kms = MemoryKms()
    keyring = Keyring.from_provider(kms, reload_interval=0)
    token = keyring.encrypt("narrative", context=CTX)
    assert keyring.key_id_of(token) == "kms-1" and keyring.decrypt(token, context=CTX) == "narrative"
    kms.keys["kms-2"] = os.urandom(32)
    kms.current = "kms-2"  # rotated in the KMS: new writes move without a restart, old values still read
    assert keyring.key_id_of(keyring.encrypt("x", context=CTX)) == "kms-2"
    assert keyring.decrypt(token, context=CTX) == "narrative"

    settings = ServiceSettings(service_name="rsd", dev_mode=False, key_provider=f"{__name__}:make_memory_kms")
    assert keyring_from_settings(settings).active == "kms-1"
    with pytest.raises(KeyringError, match="cannot be loaded"):
        keyring_from_settings(ServiceSettings(service_name="rsd", key_provider="no_such_module:x"))
    file_provider = crypto.FileKeyProvider(tmp_path / "k.json")
    Keyring.generate_file(tmp_path / "k.json", key_id="f1")
    assert isinstance(file_provider, crypto.KeyProvider)
    assert Keyring.from_provider(file_provider).decrypt(Keyring.from_file(tmp_path / "k.json").encrypt("y", context=CTX),
                                                        context=CTX) == "y"


def test_blind_index_is_keyed_per_field_and_survives_rotation(tmp_path):
    path = tmp_path / "keyring.json"
    keyring = Keyring.generate_file(path, key_id="k1")
    tag = keyring.blind_index("survivor_of_sgbv", context="registration:person:specific_need")
    assert len(tag) == 32 and "sgbv" not in tag
    assert tag == keyring.blind_index("survivor_of_sgbv", context="registration:person:specific_need")
    assert tag != keyring.blind_index("survivor_of_sgbv", context="registration:person:other")
    assert tag != Keyring.generate_file(tmp_path / "other.json").blind_index("survivor_of_sgbv",
                                                                             context="registration:person:specific_need")
    crypto.rotate_file(path, key_id="k2")
    crypto.retire_in_file(path, "k1")  # the MAC root is kept: tags (and the audit chain) outlive data keys
    assert Keyring.from_file(path).blind_index("survivor_of_sgbv", context="registration:person:specific_need") == tag


def test_a_keyring_written_before_the_mac_root_keeps_its_tags_through_rotation(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"active": "k1", "keys": {"k1": base64.b64encode(os.urandom(32)).decode()}}))
    tag = Keyring.from_file(path).blind_index("x", context="c")
    crypto.rotate_file(path, key_id="k2")
    crypto.retire_in_file(path, "k1")
    assert Keyring.from_file(path).blind_index("x", context="c") == tag


def test_field_context_binds_service_aggregate_id_and_field(keyring):
    token = keyring.encrypt_field("Hazara", service="registration", aggregate="person", aggregate_id="p1", field="ethnicity")
    assert keyring.decrypt_field(token, service="registration", aggregate="person", aggregate_id="p1",
                                 field="ethnicity") == "Hazara"
    for elsewhere in (dict(service="rsd"), dict(aggregate="referral"), dict(aggregate_id="p2"), dict(field="address")):
        place = {"service": "registration", "aggregate": "person", "aggregate_id": "p1", "field": "ethnicity", **elsewhere}
        with pytest.raises(DecryptionError):
            keyring.decrypt_field(token, **place)
    with pytest.raises(DecryptionError):  # plain text where a ciphertext belongs
        keyring.decrypt_field("Hazara", service="registration", aggregate="person", aggregate_id="p1", field="ethnicity")
