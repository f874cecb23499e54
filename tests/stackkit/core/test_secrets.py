"""Generated secrets follow Phoenix's rules; a fingerprint names a secret without showing it."""

from __future__ import annotations

from stackkit.core.secrets import fingerprint, generate_password, generate_secret


def test_fingerprints_are_stable_and_never_hold_the_secret() -> None:
    secret = generate_secret()
    assert fingerprint(secret) == fingerprint(secret) != fingerprint(secret + "x")
    assert fingerprint(secret).startswith("sha256:") and secret not in fingerprint(secret)


def test_generated_values_meet_phoenix_s_rules() -> None:
    for _ in range(50):
        secret, password = generate_secret(), generate_password()
        assert len(secret) >= 32 and any(c.isdigit() for c in secret) and any(c.islower() for c in secret)
        assert any(c.isupper() for c in password) and "_" in password
