"""The CUDA launch plan, without a GPU: which variant a call takes, its arguments and its grid."""

import numpy as np
import pytest

from PuzzleLib.Cuda import LaunchPlan
from PuzzleLib.Kernels.Launch import Range, resolveSlice


CAP = LaunchPlan.maxBlocks(smCount=132, maxThreadsPerSM=2048)     # an H100's
BASE = 0x7F0000000000                                              # 256-byte aligned, like cudaMalloc's


def plan(pointers, dtype, slc=None, size=1000):
	return LaunchPlan.plan(pointers, np.dtype(dtype).itemsize, resolveSlice(slc, size), CAP)


@pytest.mark.parametrize("dtype, width", [(np.float32, 4), (np.float16, 8), (np.float64, 2)])
def test_aligned_whole_arrays_take_the_vector_kernel(dtype, width):
	variant, pointers, counts, grid = plan((BASE, BASE + 4096, BASE + 8192), dtype, size=1001)

	assert variant == "vector"
	assert tuple(pointers) == (BASE, BASE + 4096, BASE + 8192)
	assert counts == (1001, )
	assert grid == (-(-(-(-1001 // width)) // LaunchPlan.BLOCK), 1)


@pytest.mark.parametrize("offset", [4, 8, 2])
def test_one_misaligned_pointer_takes_the_strided_kernel(offset):
	itemsize = {4: np.float32, 8: np.float64, 2: np.float16}[offset]
	variant, pointers, counts, grid = plan((BASE, BASE + 4096 + offset), itemsize)

	assert variant == "strided"
	assert tuple(pointers) == (BASE, BASE + 4096 + offset)
	assert counts == (0, 1, 1000)
	assert grid == (4, 1)


def test_stepped_and_reversed_slices_take_the_strided_kernel():
	assert plan((BASE, BASE), np.float32, slice(None, None, 2))[2] == (0, 2, 500)
	assert plan((BASE, BASE), np.float32, slice(None, None, -1))[:3] == ("strided", (BASE, BASE), (999, -1, 1000))
	assert plan((BASE, BASE), np.float32, slice(-3, 2, -4))[2] == (997, -4, 249)


def test_a_unit_step_slice_whose_start_is_aligned_is_vectorized_from_its_start():
	variant, pointers, counts, _ = plan((BASE, BASE + 4096), np.float32, slice(8, 900))
	assert variant == "vector" and tuple(pointers) == (BASE + 32, BASE + 4096 + 32) and counts == (892, )

	variant, pointers, counts, _ = plan((BASE, BASE + 4096), np.float32, slice(3, 900))
	assert variant == "strided" and tuple(pointers) == (BASE, BASE + 4096) and counts == (3, 1, 897)


def test_grids_stay_bounded_for_any_count():
	assert LaunchPlan.gridShape(1, CAP) == (1, 1)
	assert LaunchPlan.gridShape(256, CAP) == (1, 1)
	assert LaunchPlan.gridShape(257, CAP) == (2, 1)
	assert LaunchPlan.gridShape(2 ** 31 + 5, CAP) == (CAP, 1)
	assert LaunchPlan.gridShape(2 ** 40, CAP) == (CAP, 1)
	assert CAP == 132 * 8 * LaunchPlan.WAVES < 2 ** 31 - 1


def test_arrays_over_2_to_the_31_elements_launch_with_64_bit_counts():
	n = 3 * 2 ** 31 + 7
	variant, _, counts, grid = LaunchPlan.plan((BASE, BASE), 2, Range(0, 1, n), CAP)
	assert variant == "vector" and counts == (n, ) and grid == (CAP, 1)

	variant, _, counts, grid = LaunchPlan.plan((BASE, BASE), 2, Range(n - 1, -1, n), CAP)
	assert variant == "strided" and counts == (n - 1, -1, n) and grid == (CAP, 1)


def test_a_tiny_vector_launch_still_has_a_thread_per_tail_element():
	for count in range(1, 8):
		variant, _, _, grid = LaunchPlan.plan((BASE, BASE), 2, Range(0, 1, count), CAP)
		assert variant == "vector" and grid == (1, 1)     # 256 threads >= count % 8 tail elements


def test_max_blocks_is_at_least_one():
	assert LaunchPlan.maxBlocks(1, 64) == LaunchPlan.WAVES
	assert LaunchPlan.maxBlocks(0, 0) == 1


@pytest.mark.parametrize("step", [1 << 70, -(1 << 70), 1 << 63, 1001])
def test_a_step_beyond_the_array_selects_one_element_with_a_step_a_kernel_can_take(step):
	"""A launch packs the step as an int64: a step that is never taken must not reach it."""
	span = resolveSlice(slice(None, None, step), 1000)
	assert span.count == 1 and span.start == (0 if step > 0 else 999)
	assert -(1 << 63) <= span.step < (1 << 63)
	assert resolveSlice(slice(5, 5, step), 1000).count == 0
