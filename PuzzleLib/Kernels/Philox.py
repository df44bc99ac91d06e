"""The Philox4x32-10 stream in numpy: what the CPU backend's numpy path computes, and the stream's
definition for readers of philox.h, whose C both the CPU and the CUDA kernels compile.

Element e of the stream (key, counter) is word (e & 3) of the block philox4x32_10 of counter
counter + e // 4 (mod 2^64, in the counter's first two words; the other two are 0) under key
(its low and high 32 bits); its uniform float is the word's top 24 bits times 2^-24, in [0, 1).
"""

import numpy as np


M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10

MASK32 = np.uint64(0xFFFFFFFF)


def block(counter, key):
	"""philox4x32_10 of counters (4, n) uint32 words under key (k0, k1): the (4, n) uint32 output."""
	c = [np.asarray(word, dtype=np.uint64) for word in counter]
	k0, k1 = np.uint64(key[0]), np.uint64(key[1])

	for _ in range(ROUNDS):
		p0, p1 = np.uint64(M0) * c[0], np.uint64(M1) * c[2]
		c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & MASK32, (p0 >> np.uint64(32)) ^ c[3] ^ k1, p0 & MASK32]
		k0, k1 = (k0 + np.uint64(W0)) & MASK32, (k1 + np.uint64(W1)) & MASK32

	return np.stack(c).astype(np.uint32)


def words(key, counter, elements):
	"""The stream's uint32 words at the given element indices (int64 array)."""
	key, counter = int(key) % (1 << 64), int(counter) % (1 << 64)
	elements = np.asarray(elements, dtype=np.int64).astype(np.uint64)

	blocks = (np.uint64(counter) + (elements >> np.uint64(2)))          # wraps mod 2^64, as the C
	zeros = np.zeros_like(blocks)
	out = block((blocks & MASK32, blocks >> np.uint64(32), zeros, zeros), (key & 0xFFFFFFFF, key >> 32))
	return np.take_along_axis(out, (elements & np.uint64(3)).astype(np.intp)[None], axis=0)[0]


def uniform(key, counter, elements):
	"""The stream's float32 uniforms in [0, 1) at the given element indices."""
	return _uniform(words(key, counter, elements))


def _uniform(words):
	return (words >> np.uint32(8)).astype(np.float32) * np.float32(2.0 ** -24)


def normal(key, counter, elements):
	"""The stream's float32 standard normals (philox.h's Box-Muller, in float64 and rounded once)."""
	elements = np.asarray(elements, dtype=np.int64)
	even = elements & ~np.int64(1)
	u1 = ((words(key, counter, even) >> np.uint32(8)).astype(np.float64) + 1) * 2.0 ** -24
	angle = 2 * np.pi * _uniform(words(key, counter, even + 1)).astype(np.float64)

	radius = np.sqrt(-2 * np.log(u1))
	return (radius * np.where(elements & 1, np.sin(angle), np.cos(angle))).astype(np.float32)


RANDOM = {"uniform": uniform, "normal": normal}
