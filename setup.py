from setuptools import setup, find_packages


setup(
	# the distribution's own name; the package it installs is PuzzleLib, so scripts import it unchanged
	name="puzzlelib-compatible",
	version="1.0.0",
	description="Drop-in PuzzleLib-compatible modules: CUDA through pycuda, or a CPU backend",
	long_description=open("README.md", encoding="utf-8").read(),
	long_description_content_type="text/markdown",
	license="Apache-2.0",
	author="The PuzzleLib-compatible library project",
	packages=find_packages(include=["PuzzleLib", "PuzzleLib.*"]),
	package_data={"PuzzleLib.CPU": ["*.c"], "PuzzleLib.Kernels": ["*.h"]},
	python_requires=">=3.9",
	# threadpoolctl finds numpy's BLAS: its thread count per product, its gemm with beta (CPU/NumpyBlas.py)
	install_requires=["numpy>=1.22", "h5py>=3.0", "threadpoolctl>=3.0"],
	extras_require={
		"cuda": ["pycuda>=2026.1"],
		"main": ["scikit-learn"],
		# torch exactly so: any other spec pulls a multi-GB CUDA build; it is the tests' oracle only
		"test": ["pytest>=7", "hypothesis>=6", "scikit-learn", "torch==2.13.0"],
	},
)
