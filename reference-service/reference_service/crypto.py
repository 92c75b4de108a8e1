"""Farmer personal data encrypted at rest (seed "Farmer Data Encryption"), with key rotation.

``ENCRYPTION_KEY`` holds one Fernet key, or several separated by commas during a rotation (README, "Rotating
ENCRYPTION_KEY"): ``NEW,OLD``. :class:`cryptography.fernet.MultiFernet` encrypts with the first key and decrypts
with any of them; :func:`reencrypt_phone_numbers` rewrites every stored phone number under the first key
(``MultiFernet.rotate``), in chunks of 1000 rows (seed "Memory Management"). The migration task runs it after
``alembic upgrade head`` whenever ``ENCRYPTION_KEY`` lists more than one key (``migrations/env.py``), so step 3
of the procedure is ``ava-olo migrate``; once it has run, the old key can be dropped.
"""

from __future__ import annotations

from typing import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import text
from sqlalchemy.engine import Connection

from .config import ConfigError

CHUNK_SIZE = 1000


class FarmerDataManager:
    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str):
            keys = [part.strip() for part in keys.split(",")]
        fernets = []
        for position, key in enumerate(keys, start=1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError):
                raise ConfigError(
                    "ENCRYPTION_KEY", key, f"key {position} of {len(keys)} is not a Fernet key (32 url-safe base64 bytes)"
                ) from None
        if not fernets:
            raise ConfigError("ENCRYPTION_KEY", "", "at least one Fernet key")
        self.key_count = len(fernets)
        self.cipher = MultiFernet(fernets)

    def encrypt_phone(self, phone_number: str) -> str:
        return self.cipher.encrypt(phone_number.encode()).decode()

    def decrypt_phone(self, encrypted_phone: str) -> str:
        return self.cipher.decrypt(encrypted_phone.encode()).decode()

    def rotate(self, encrypted_phone: str) -> str:
        """The same phone number, encrypted under the first key (raises InvalidToken if no key decrypts it)."""
        return self.cipher.rotate(encrypted_phone.encode()).decode()


def reencrypt_phone_numbers(connection: Connection, manager: FarmerDataManager, chunk_size: int = CHUNK_SIZE) -> int:
    """Re-encrypt ``farmers.phone_number`` under the first key, ``chunk_size`` rows at a time. Returns the count.

    Rows whose phone was anonymized (seed "Data Retention Policy": ``'REMOVED'``) or is NULL are skipped. A value
    no key decrypts stops the run with the farmer's id (nothing is silently left under an unknown key).
    """
    done, last_id = 0, 0
    while True:
        rows = connection.execute(
            text(
                "SELECT id, phone_number FROM farmers WHERE id > :last AND phone_number IS NOT NULL "
                "AND phone_number <> 'REMOVED' ORDER BY id LIMIT :limit"
            ),
            {"last": last_id, "limit": chunk_size},
        ).all()
        if not rows:
            return done
        updates = []
        for farmer_id, phone in rows:
            try:
                updates.append({"id": farmer_id, "phone": manager.rotate(phone)})
            except InvalidToken:
                raise RuntimeError(
                    f"farmers.id={farmer_id}: phone_number is not decryptable with any ENCRYPTION_KEY key; "
                    "keep the key it was written with in the list"
                ) from None
        connection.execute(text("UPDATE farmers SET phone_number = :phone WHERE id = :id"), updates)
        done += len(updates)
        last_id = rows[-1][0]
