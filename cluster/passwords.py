"""The password policy (NIST SP 800-63B §3.1.1.2): at least 12 characters, at most 128,
and not on a list of commonly used passwords shipped with Helio.

The list is Django's `common-passwords.txt.gz` (20,000 passwords from Royce Williams'
compilation; BSD-licensed, see cluster/data/README.md). Comparison ignores case and
surrounding whitespace, so `Password123456` is refused like `password123456`.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib import resources

MIN_LENGTH = 12
MAX_LENGTH = 128


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    data = resources.files("cluster").joinpath("data/common-passwords.txt.gz").read_bytes()
    return frozenset(line.strip().lower()
                     for line in gzip.decompress(data).decode().splitlines() if line.strip())


def password_problem(password: str, email: str | None = None) -> str | None:
    """Why the password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    folded = password.strip().lower()
    if folded in common_passwords():
        return "this password is on the list of commonly used passwords; choose another"
    if len(set(folded)) < 4:
        return "the password repeats too few characters (use at least 4 different ones)"
    if email and folded in {email.lower(), email.lower().partition("@")[0]}:
        return "the password must not be the email address"
    return None
