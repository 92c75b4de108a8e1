"""Seed "Farmer Data Encryption" with the README's ENCRYPTION_KEY rotation (NEW,OLD -> re-encrypt -> NEW)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken

from .conftest import create_database, run_alembic, service_environ

PHONES = ["+359888123456", "+385911234567", "+5511987654321"]

# The service's modules (Flask, SQLAlchemy, psycopg) are imported where used: every pytest-xdist worker imports this
# module to collect it, one of them runs it.


def stored_phones(postgres, dbname) -> list[str]:
    return [row[0] for row in postgres.execute("SELECT phone_number FROM farmers ORDER BY id", dbname)]


def test_first_key_encrypts_and_every_key_decrypts():
    from reference_service.crypto import FarmerDataManager

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    under_old = FarmerDataManager([old]).encrypt_phone("+359888123456")
    rotating = FarmerDataManager(f"{new},{old}")
    assert rotating.decrypt_phone(under_old) == "+359888123456"
    under_new = rotating.encrypt_phone("+359888123456")
    assert Fernet(new.encode()).decrypt(under_new.encode()) == b"+359888123456"
    with pytest.raises(InvalidToken):
        Fernet(old.encode()).decrypt(under_new.encode())
    rotated = rotating.rotate(under_old)
    assert FarmerDataManager([new]).decrypt_phone(rotated) == "+359888123456"


def test_phone_numbers_are_stored_encrypted_and_served_decrypted(postgres, migrated_database, live_service):
    import json
    import urllib.request

    request = urllib.request.Request(
        f"{live_service.url}/api/farmers", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"name": "Marija", "phone_number": "+385911234567", "country": "Croatia"}).encode(),
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        farmer_id = json.loads(response.read())["id"]
    stored = postgres.execute(f"SELECT phone_number FROM farmers WHERE id = {farmer_id}", migrated_database)[0][0]
    assert "385911234567" not in stored
    key = live_service.environ["ENCRYPTION_KEY"].encode()
    assert Fernet(key).decrypt(stored.encode()) == b"+385911234567"
    with urllib.request.urlopen(f"{live_service.url}/api/farmers/{farmer_id}", timeout=5) as response:
        assert json.loads(response.read())["phone_number"] == "+385911234567"


def test_rotation_the_migration_task_reencrypts_every_phone_under_the_new_key(postgres, migrated_template):
    from reference_service.config import Settings
    from reference_service.web import create_app

    create_database(postgres, "rotation", template=migrated_template)
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    environ = service_environ(postgres, "rotation", ENCRYPTION_KEY=old)
    app = create_app(Settings.from_environ(environ))
    client = app.test_client()
    for phone in PHONES:
        assert client.post("/api/farmers", json={"name": "F", "phone_number": phone, "country": "BG"}).status_code == 201
    app.config["engine"].dispose()
    postgres.execute("INSERT INTO farmers (name, phone_number, country) VALUES ('ANONYMIZED', 'REMOVED', 'HR')", "rotation")
    before = stored_phones(postgres, "rotation")

    # README steps 2-3: the secret becomes NEW,OLD, the tasks roll, `ava-olo migrate` runs alembic upgrade head.
    result = run_alembic({**environ, "ENCRYPTION_KEY": f"{new},{old}"}, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 3 phone numbers" in result.stdout

    after = stored_phones(postgres, "rotation")
    assert after[-1] == "REMOVED"
    assert all(a != b for a, b in zip(after[:-1], before[:-1]))
    assert [Fernet(new.encode()).decrypt(t.encode()).decode() for t in after[:-1]] == PHONES
    # Step 4: NEW alone - the service still reads every farmer.
    only_new = create_app(Settings.from_environ({**environ, "ENCRYPTION_KEY": new}))
    served = [only_new.test_client().get(f"/api/farmers/{i}").get_json()["phone_number"] for i in (1, 2, 3)]
    only_new.config["engine"].dispose()
    assert served == PHONES


def test_rotation_stops_on_a_phone_no_key_decrypts(postgres, migrated_template):
    from reference_service.crypto import FarmerDataManager

    create_database(postgres, "rotation_unknown", template=migrated_template)
    environ = service_environ(postgres, "rotation_unknown")
    stranger = FarmerDataManager([Fernet.generate_key().decode()]).encrypt_phone("+359888000000")
    postgres.execute(f"INSERT INTO farmers (name, phone_number, country) VALUES ('X', '{stranger}', 'BG')", "rotation_unknown")
    result = run_alembic({**environ, "ENCRYPTION_KEY": f"{Fernet.generate_key().decode()},{environ['ENCRYPTION_KEY']}"}, "upgrade", "head")
    assert result.returncode != 0
    assert "farmers.id=1: phone_number is not decryptable with any ENCRYPTION_KEY key" in result.stderr
    assert stored_phones(postgres, "rotation_unknown") == [stranger]
