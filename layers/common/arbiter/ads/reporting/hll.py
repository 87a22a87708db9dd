"""HyperLogLog sketch for unique users (decisions: "Analytics rollups").

Why a sketch: exact distinct counts per campaign, day, creative and country would need one marker write per
(user, dimension) and cannot be made idempotent together with a counter without a transaction per user. A
HyperLogLog register only ever takes the max, so re-applying a redelivered stream batch changes nothing:
sketches are idempotent by construction.

Precision p = 14 (16,384 one-byte registers): standard error 1.04 / sqrt(m) = 0.81%; below 2.5 m distinct
values the linear-counting estimate is used (far more accurate there). Registers are stored zlib-compressed
(a few hundred bytes for a small sketch, ~10 KB at full occupancy).
"""

import hashlib
import math
import zlib

PRECISION = 14
REGISTERS = 1 << PRECISION
_HASH_BITS = 64
_MAX_RANK = _HASH_BITS - PRECISION + 1
_ALPHA = 0.7213 / (1 + 1.079 / REGISTERS)


def _hash(value: str) -> int:
    return int.from_bytes(hashlib.blake2b(value.encode("utf-8"), digest_size=8).digest(), "big")


class HyperLogLog:
    __slots__ = ("registers",)

    def __init__(self, registers: bytes | bytearray | None = None):
        if registers is not None and len(registers) != REGISTERS:
            raise ValueError(f"a sketch has {REGISTERS} registers, got {len(registers)}")
        self.registers = bytearray(registers) if registers is not None else bytearray(REGISTERS)

    def add(self, value: str) -> bool:
        """Adds a value; returns whether a register changed (whether the sketch needs writing)."""
        hashed = _hash(value)
        index = hashed >> (_HASH_BITS - PRECISION)
        rest = hashed & ((1 << (_HASH_BITS - PRECISION)) - 1)
        rank = (_HASH_BITS - PRECISION) - rest.bit_length() + 1  # leading zeros of the remaining bits, plus one
        rank = min(rank, _MAX_RANK)
        if self.registers[index] >= rank:
            return False
        self.registers[index] = rank
        return True

    def merge(self, other: "HyperLogLog") -> bool:
        """Register-wise max; returns whether this sketch changed."""
        changed = False
        mine, theirs = self.registers, other.registers
        for index in range(REGISTERS):
            if theirs[index] > mine[index]:
                mine[index] = theirs[index]
                changed = True
        return changed

    def estimate(self) -> int:
        registers = bytes(self.registers)
        # A histogram of register values with C-speed counts instead of a Python loop over 16,384 registers.
        histogram = [registers.count(bytes([rank])) for rank in range(_MAX_RANK + 1)]
        harmonic = sum(count * 2.0**-rank for rank, count in enumerate(histogram) if count)
        raw = _ALPHA * REGISTERS * REGISTERS / harmonic
        zeros = histogram[0]
        if raw <= 2.5 * REGISTERS and zeros:
            return round(REGISTERS * math.log(REGISTERS / zeros))  # linear counting
        return round(raw)

    def to_bytes(self) -> bytes:
        return zlib.compress(bytes(self.registers), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> "HyperLogLog":
        return cls(zlib.decompress(bytes(data)))
