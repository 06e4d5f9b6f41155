"""Counter-based randomness: every draw is a pure function of a key and a counter.

A perturbation never touches global random state. Each input gets a 64-bit key derived
from ``(seed, perturbation name, index of the input in the data set)``; every number a
perturbation draws for that input is a hash of that key and a counter. The output for
one input therefore does not depend on batch size, worker count or execution order.

Severity is deliberately *not* part of the key: a stronger setting draws the same
numbers and touches a superset of what a weaker one touched, so severity curves are
smooth and strength grows monotonically (common random numbers).

The hash is SplitMix64's finaliser, vectorised over ``uint64`` arrays (multiplication
wraps modulo 2**64, which is what the algorithm wants).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["Draws", "stable_hash"]

_MASK = 0xFFFFFFFFFFFFFFFF  # 64 bits
_GOLDEN_INT, _C1_INT, _C2_INT = 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_GOLDEN, _C1, _C2 = np.uint64(_GOLDEN_INT), np.uint64(_C1_INT), np.uint64(_C2_INT)
_TO_UNIT = 2.0**-53
_PCG_INC = (0xDA3E39CB94B95BDB << 64) | 0x5851F42D4C957F2D  # odd: any fixed stream works
_ROUNDS = ((np.uint64(30), _C1), (np.uint64(27), _C2), (np.uint64(31), None))  # shift, factor


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of ``repr`` of the parts, stable across processes and runs."""
    digest = hashlib.blake2b(digest_size=8)
    for part in parts:
        digest.update(repr(part).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return int.from_bytes(digest.digest(), "little")


def mix(values: np.ndarray, *, inplace: bool = False,
        spare: np.ndarray | None = None) -> np.ndarray:
    """SplitMix64 finaliser of a ``uint64`` array: a new array, or ``values`` itself
    overwritten when ``inplace`` (for temporaries: it saves a copy).

    ``spare`` is scratch space of the same shape (made when None): every shift goes into
    it rather than into a new array. On a large array that is one allocation instead of
    three, which matters most where each large allocation maps fresh pages (glibc with a
    fixed ``MALLOC_TRIM_THRESHOLD_``, as Dask's workers set it).
    """
    if inplace and isinstance(values, np.ndarray) and values.dtype == np.uint64:
        z = values
    else:
        z = np.array(values, dtype=np.uint64, copy=True, ndmin=1)
    if spare is None or spare.shape != z.shape:
        spare = np.empty_like(z)
    z += _GOLDEN
    for shift, factor in _ROUNDS:
        np.right_shift(z, shift, out=spare)
        z ^= spare
        if factor is not None:
            z *= factor
    return z


def _mix_int(value: int) -> int:
    """:func:`mix` of one 64-bit integer, in Python integers: 0.35 us, against 8 us for a
    one-element array."""
    z = (value + _GOLDEN_INT) & _MASK
    z = ((z ^ (z >> 30)) * _C1_INT) & _MASK
    z = ((z ^ (z >> 27)) * _C2_INT) & _MASK
    return z ^ (z >> 31)


@functools.lru_cache(maxsize=1024)
def _stream_salt(stream: int) -> np.ndarray:
    """The hash of a stream number (read-only): once per stream, not once per draw."""
    salt = mix(np.asarray([stream], dtype=np.uint64))
    salt.flags.writeable = False
    return salt


def _unit(z: np.ndarray) -> np.ndarray:
    """Floats in [0, 1) from the top 53 bits of ``z``, written over ``z`` itself (a
    temporary): exact, since 53 bits fit a float64's mantissa."""
    z >>= np.uint64(11)
    out = z.view(np.float64)
    np.multiply(z, _TO_UNIT, out=out, casting="unsafe")
    return out


class Draws:
    """The random numbers of one batch: one key per input, any number of draws per key.

    ``base`` identifies (seed, perturbation name); ``indices`` are the inputs' positions
    in the whole data set. Streams separate independent purposes (which word, which
    character, which replacement) so that adding a draw for one purpose never shifts
    another.
    """

    __slots__ = ("_generator", "base", "indices", "keys")

    def __init__(self, base: int, indices: Sequence[int] | np.ndarray) -> None:
        self.base = int(base) & _MASK
        self.indices = np.asarray(indices, dtype=np.int64)
        self.keys = mix(mix(self.indices.astype(np.uint64), inplace=True) ^ np.uint64(self.base),
                        inplace=True)
        self._generator: np.random.Generator | None = None

    def __len__(self) -> int:
        return len(self.keys)

    def part(self, start: int, stop: int) -> Draws:
        """The draws of inputs ``start:stop``: their keys taken, not hashed again."""
        out = Draws.__new__(Draws)
        out.base, out.indices, out.keys = self.base, self.indices[start:stop], self.keys[start:stop]
        out._generator = None
        return out

    def bits(
        self,
        stream: int,
        owner: np.ndarray | slice | None = None,
        counter: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """64 random bits per draw. ``owner`` picks which input's key each draw uses
        (default: one draw per input); ``counter`` numbers the draws of one input."""
        gathered = False
        if owner is None:
            keys = self.keys
        elif isinstance(owner, slice):  # a contiguous block: a view, no gather
            keys = self.keys[owner]
        else:
            keys = self.keys[np.asarray(owner, dtype=np.intp)]
            gathered = keys.ndim == 1  # a new array of this call's own, to write over
        salt = _stream_salt(int(stream) & _MASK)
        spare = None
        if counter is not None:
            count = np.asarray(counter)
            # an int64 counter's bits are its uint64 cast's bits: a view, not a copy
            count = count.view(np.uint64) if count.dtype == np.int64 else count.astype(np.uint64)
            salt = np.bitwise_xor(count, salt)
            spare = np.empty_like(salt)
            salt = mix(salt, inplace=True, spare=spare)
        if gathered and salt.shape in ((1,), keys.shape):
            keys ^= salt
            return mix(keys, inplace=True, spare=spare)
        return mix(keys ^ salt, inplace=True, spare=spare)

    def uniform(
        self,
        stream: int,
        owner: np.ndarray | None = None,
        counter: np.ndarray | int | None = None,
    ) -> np.ndarray:
        """Floats in [0, 1), addressed like :meth:`bits`."""
        return _unit(self.bits(stream, owner, counter))

    def generator(self, position: int) -> np.random.Generator:
        """A numpy Generator whose stream is a pure function of input ``position``'s key.

        The same Generator object is re-seeded for each call (setting PCG64's state costs
        about a tenth of constructing a new Generator), so use it before asking for the
        next position's. A ``Draws`` object is never shared across threads.
        """
        key = int(self.keys[position])
        low = _mix_int(key ^ 0x5DEECE66D)
        if self._generator is None:
            self._generator = np.random.Generator(np.random.PCG64(0))
        self._generator.bit_generator.state = {
            "bit_generator": "PCG64",
            "state": {"state": (key << 64) | low, "inc": _PCG_INC},
            "has_uint32": 0,
            "uinteger": 0,
        }
        return self._generator

    def shared(self, stream: int = 0) -> np.random.Generator:
        """A Generator that depends on (seed, name) only: for decisions about a whole
        frame (which columns, which order) that must not vary with the rows present."""
        return np.random.Generator(np.random.PCG64(stable_hash(self.base, stream)))
