"""Seeded, order-independent randomness.

A decision draws ONE salt from the injected `random.Random`; every per-candidate draw (pacing throttles,
tie-breaks) is then a keyed hash of (salt, candidate key). The outcome for a candidate therefore does not
depend on how many other candidates were evaluated before it, so an indexed run and an exhaustive run over
the same world make identical choices, and a fixed seed reproduces a decision exactly.
"""

import random
from hashlib import blake2b

_TWO_TO_64 = float(2**64)


def draw_salt(rng: random.Random) -> int:
    return rng.getrandbits(64)


def stable_hash(salt: int, key: str) -> int:
    """A 64-bit hash of `key` keyed by `salt`: uniform over candidates, fixed for a given salt."""
    digest = blake2b(key.encode(), digest_size=8, key=salt.to_bytes(8, "little")).digest()
    return int.from_bytes(digest, "little")


def stable_uniform(salt: int, key: str) -> float:
    """A number in [0, 1), uniform across keys for a random salt, repeatable for a fixed one."""
    return stable_hash(salt, key) / _TWO_TO_64
