"""Public identifiers shaped like the seeds' (adv_…, camp_…, crt_…): a prefix and 16 random base32 characters."""

import base64
import secrets


def new_id(prefix: str) -> str:
    # 10 random bytes = 80 bits: collisions are negligible and creates still use conditional writes.
    token = base64.b32encode(secrets.token_bytes(10)).decode("ascii").lower()
    return f"{prefix}_{token}"
