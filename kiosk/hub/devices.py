"""Enrolment codes and device tokens.

* An enrolment code is 60 random bits in Crockford base32 (12 characters, shown as
  ``XXXX-XXXX-XXXX`` and as a QR code), valid once, for :data:`CODE_TTL_HOURS`.
* A device token is ``<device id>.<43 random url-safe characters>`` (256 bits). The hub keeps
  only the SHA-256 of the secret part (a slow hash adds nothing for 256 random bits) and
  compares hashes with :func:`hmac.compare_digest`, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from kiosk.sync.protocol import token_hash

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_TTL_HOURS = 72
_ALIASES = str.maketrans({"I": "1", "L": "1", "O": "0", "U": "V"})


def new_code() -> str:
    n = secrets.randbits(60)
    chars = "".join(CROCKFORD[(n >> (5 * i)) & 31] for i in range(12))
    return f"{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


def normalise_code(code: str) -> str:
    """Any case, with or without hyphens or spaces; I/L read as 1, O as 0."""
    return "".join(c for c in code.upper().translate(_ALIASES) if c in CROCKFORD)


def code_hash(code: str) -> str:
    return hashlib.sha256(("enrol:" + normalise_code(code)).encode()).hexdigest()


def new_token(device_id: str) -> tuple[str, str]:
    """A fresh token for a device and the hash the hub stores."""
    secret = secrets.token_urlsafe(32)
    return f"{device_id}.{secret}", token_hash(secret)


_DUMMY = token_hash("never-a-real-token")


def token_matches(secret: str, stored: str | None) -> bool:
    """Constant-time comparison (a missing device still costs one comparison)."""
    return hmac.compare_digest(token_hash(secret), stored or _DUMMY) and stored is not None
