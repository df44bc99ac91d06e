"""C source of the CPU softmax over short rows of a matrix: eight rows at a time, a row per vector
lane, with Kernels/Rows' element routines: pure Python.

A row of a few elements leaves a row-at-a-time loop mostly scalar tail. Here a block of eight rows
is transposed in registers (8 x 8 tiles, the last tile of a row overlapping the one before it, so
that no load or store leaves the block's rows), each step of the softmax is a loop over the eight
lanes, and the result is transposed back. A short block (fewer than eight rows left) and rows of
fewer than eight elements go through padded copies. Each lane's arithmetic is the same whichever
block and lane a row falls in, so a row's result depends on C alone, not on the thread or chunk.

Per row: the maximum; the exps of the shifted entries (pz_softmax_exp), summed PZ_SUM_DEPTH at a
time in the compute type and those partial sums in double, in the order of c; each exp scaled by
1 / sum in the compute type (pz_softmax_scale). A row of only -inf entries is
uniform, a NaN or +inf entry makes it NaN, as Kernels/Rows says.
"""

import numpy as np


# rows of at most this many elements take the lanes: up to about 32 they beat a row at a time
# (float32 rows of 8 to 32, timed side by side)
LANE_C_MAX = 32

TEMPLATE = """\
/* {{{ softmax of rows of a matrix of at most PZ_LANE_C_MAX %(C)s elements, eight rows a block */

typedef %(storage)s pz_lanes_%(name)s __attribute__((vector_size(PZ_LANES * sizeof(%(storage)s))));
/* the same at any address (a vector type aliases its element type; memcpy would keep the tiles in
   memory instead of registers) */
typedef %(storage)s pz_lanes_%(name)s_u __attribute__((vector_size(PZ_LANES * sizeof(%(storage)s)), aligned(sizeof(%(storage)s))));

/* v[i][j] <-> v[j][i]: pairs, then pairs of pairs, then halves */
PZ_INLINE void pz_transpose8_%(name)s(pz_lanes_%(name)s *v)
{
	pz_lanes_%(name)s a[8], b[8];
	for (int i = 0; i < 8; i += 2) {
		a[i] = __builtin_shufflevector(v[i], v[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
		a[i + 1] = __builtin_shufflevector(v[i], v[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
	}
	for (int i = 0; i < 8; i += 4)
		for (int k = 0; k < 2; k++) {
			b[i + 2 * k] = __builtin_shufflevector(a[i + k], a[i + k + 2], 0, 1, 8, 9, 4, 5, 12, 13);
			b[i + 2 * k + 1] = __builtin_shufflevector(a[i + k], a[i + k + 2], 2, 3, 10, 11, 6, 7, 14, 15);
		}
	for (int k = 0; k < 4; k++) {
		v[k] = __builtin_shufflevector(b[k], b[k + 4], 0, 1, 2, 3, 8, 9, 10, 11);
		v[k + 4] = __builtin_shufflevector(b[k], b[k + 4], 4, 5, 6, 7, 12, 13, 14, 15);
	}
}

/* where the tile of columns from c0 starts: the last one of a row of C >= 8 ends at the row's end;
   rows of C < 8 take one tile, whose columns from C on belong to the next rows */
PZ_INLINE int64_t pz_lane_tile_%(name)s(int64_t c0, int64_t C)
{
	return C < PZ_LANES ? 0 : (c0 + PZ_LANES <= C ? c0 : C - PZ_LANES);
}

/* t[c][l] = x[l C + c]: eight rows of C from x, readable up to x + 7 C + max(C, 8) */
PZ_INLINE void pz_lanes_in_%(name)s(const %(storage)s *x, int64_t C, %(storage)s t[][PZ_LANES])
{
	for (int64_t c0 = 0; c0 < C; c0 += PZ_LANES) {
		const int64_t at = pz_lane_tile_%(name)s(c0, C);
		pz_lanes_%(name)s v[PZ_LANES];
		for (int l = 0; l < PZ_LANES; l++)
			v[l] = *(const pz_lanes_%(name)s_u *)(x + l * C + at);
		pz_transpose8_%(name)s(v);
		for (int i = 0; i < PZ_LANES; i++)
			*(pz_lanes_%(name)s_u *)t[at + i] = v[i];
	}
}

/* y[l C + c] = t[c][l]; for C < 8 each row's store runs into the next rows, which their own stores,
   made after, overwrite: y writable up to y + 7 C + max(C, 8) */
PZ_INLINE void pz_lanes_out_%(name)s(%(storage)s t[][PZ_LANES], int64_t C, %(storage)s *y)
{
	for (int64_t c0 = 0; c0 < C; c0 += PZ_LANES) {
		const int64_t at = pz_lane_tile_%(name)s(c0, C);
		pz_lanes_%(name)s v[PZ_LANES];
		for (int i = 0; i < PZ_LANES; i++)
			v[i] = *(const pz_lanes_%(name)s_u *)t[at + i];
		pz_transpose8_%(name)s(v);
		for (int l = 0; l < PZ_LANES; l++)
			*(pz_lanes_%(name)s_u *)(y + l * C + at) = v[l];
	}
}

/* the softmax of each lane of t[c][l], c < C, in place */
PZ_INLINE void pz_softmax_lanes_%(name)s(%(storage)s t[][PZ_LANES], int64_t C)
{
	%(ctype)s top[PZ_LANES];
	int nan[PZ_LANES];
	#pragma omp simd
	for (int l = 0; l < PZ_LANES; l++) {
		top[l] = -INFINITY;
		nan[l] = 0;
	}
	for (int64_t c = 0; c < C; c++) {
		#pragma omp simd
		for (int l = 0; l < PZ_LANES; l++) {
			const %(ctype)s v = pz_row_load_%(name)s(t[c][l]);
			top[l] = v > top[l] ? v : top[l];
			nan[l] |= v != v;
		}
	}

	/* every lane's exps, those of a lane without a finite maximum included (discarded below) */
	double sum[PZ_LANES] = {0.0};
	int64_t c0 = 0;
	for (; c0 + PZ_SUM_DEPTH <= C; c0 += PZ_SUM_DEPTH) {
		#pragma omp simd
		for (int l = 0; l < PZ_LANES; l++) {
			%(ctype)s part = 0;
			for (int j = 0; j < PZ_SUM_DEPTH; j++) {
				const %(storage)s e = pz_softmax_exp_%(name)s(t[c0 + j][l], top[l]);
				t[c0 + j][l] = e;
				part += pz_row_load_%(name)s(e);
			}
			sum[l] += (double)part;
		}
	}
	if (c0 < C) {                       /* the last, shorter group: the same order */
		%(ctype)s part[PZ_LANES] = {0};
		for (int64_t c = c0; c < C; c++) {
			#pragma omp simd
			for (int l = 0; l < PZ_LANES; l++) {
				const %(storage)s e = pz_softmax_exp_%(name)s(t[c][l], top[l]);
				t[c][l] = e;
				part[l] += pz_row_load_%(name)s(e);
			}
		}
		#pragma omp simd
		for (int l = 0; l < PZ_LANES; l++)
			sum[l] += (double)part[l];
	}

	%(ctype)s inv[PZ_LANES];
	#pragma omp simd
	for (int l = 0; l < PZ_LANES; l++)
		inv[l] = (%(ctype)s)(1.0 / sum[l]);
	for (int64_t c = 0; c < C; c++) {
		#pragma omp simd
		for (int l = 0; l < PZ_LANES; l++)
			t[c][l] = pz_softmax_scale_%(name)s(t[c][l], inv[l]);
	}

	/* a row with a NaN or +inf entry is NaN; one of only -inf entries has no mass */
	int special = 0;
	#pragma omp simd reduction(|:special)
	for (int l = 0; l < PZ_LANES; l++)
		special |= nan[l] | (top[l] == INFINITY) | (top[l] == -INFINITY);
	for (int l = 0; l < PZ_LANES && special; l++) {
		if (nan[l] || top[l] == INFINITY)
			for (int64_t c = 0; c < C; c++)
				t[c][l] = pz_softmax_nan_%(name)s();
		else if (top[l] == -INFINITY)
			for (int64_t c = 0; c < C; c++)
				t[c][l] = pz_softmax_uniform_%(name)s(C);
	}
}

/* softmax of `count` <= 8 rows of C <= PZ_LANE_C_MAX from x into y (y == x allowed) */
PZ_INLINE void pz_softmax_lane_block_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t count)
{
	%(storage)s t[PZ_LANE_C_MAX][PZ_LANES];
	if (count == PZ_LANES && C >= PZ_LANES) {
		pz_lanes_in_%(name)s(x, C, t);
		pz_softmax_lanes_%(name)s(t, C);
		pz_lanes_out_%(name)s(t, C, y);
		return;
	}

	/* padded copies: the lanes without a row compute on zeros, and nothing is read or written
	   beyond the block's rows */
	%(storage)s padded[PZ_LANES * PZ_LANE_C_MAX + PZ_LANES];
	memcpy(padded, x, count * C * sizeof padded[0]);
	memset(padded + count * C, 0, ((PZ_LANES - count) * C + PZ_LANES) * sizeof padded[0]);
	pz_lanes_in_%(name)s(padded, C, t);
	pz_softmax_lanes_%(name)s(t, C);
	pz_lanes_out_%(name)s(t, C, padded);
	memcpy(y, padded, count * C * sizeof padded[0]);
}

/* }}} */
"""

DEFINES = """\
#define PZ_LANES 8
#define PZ_LANE_C_MAX %d
""" % LANE_C_MAX


def laneRoutines(dtype, storage, ctype, name):
	"""The lane routines of a dtype stored as the C type storage, computed in ctype (after
	Kernels/Rows' routines of the same dtype, whose element routines they call)."""
	return TEMPLATE % dict(C=np.dtype(dtype).name, storage=storage, ctype=ctype, name=name)
