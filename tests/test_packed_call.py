"""A compiled CPU kernel takes its call as one argument, packed by Python's struct module in
Source.callFormat: a C program built with the kernel's own struct declaration reads the packed
bytes back field by field, for entries with odd and even counts of params, a random stream, and
one to four arrays, in every dtype."""

import re, struct, subprocess

import numpy as np
import pytest

from PuzzleLib.CPU import HostCompiler, Source
from PuzzleLib.Kernels.Codegen import RNG_ARGS, paramNames
from PuzzleLib.Kernels.Table import TABLE


ENTRIES = ("relu", "leakyRelu", "clipDer", "dropout", "fillNormal", "rmsprop", "adam")

READER = """\
#include <stdint.h>
#include <stdio.h>
#include <string.h>

%(struct)s

int main(void)
{
	unsigned char packed[sizeof(struct %(name)s_args) + 64];
	const size_t n = fread(packed, 1, sizeof packed, stdin);
	if (n != %(size)d) {
		printf("read %%zu bytes\\n", n);
		return 1;
	}

	struct %(name)s_args a;
	memcpy(&a, packed, sizeof a);
	printf("%%zu\\n", sizeof a);
%(prints)s
	return 0;
}
"""


def fields(op):
	"""(C field, kind) in the struct's order: arrays, start, step, params, the random stream, count."""
	return (
		[("a%d" % k, "pointer") for k in range(len(op.arrays))] + [("start", "int"), ("step", "int")] +
		[(name, "float") for name in paramNames(op)] + [(name, "int") for name in RNG_ARGS if op.isRandom] +
		[("count", "int")]
	)


def values(op):
	"""Distinct values per field, exact in float16's compute type (float) and beyond 32 bits where ints."""
	got = []
	for k, (_, kind) in enumerate(fields(op)):
		if kind == "pointer":
			got.append(0x7F0000000000 + 0x1000 * (k + 1) + 64 * k)
		elif kind == "float":
			got.append(-1.5 * (k + 1) + 0.25)
		else:
			got.append((-1) ** k * ((1 << 40) + k))
	return got


@pytest.mark.parametrize("dtype", Source.DTYPES, ids=str)
@pytest.mark.parametrize("name", ENTRIES)
def test_the_packed_call_is_read_field_by_field(tmp_path, name, dtype):
	cc = HostCompiler.findCompiler()
	if cc is None:
		pytest.skip("no host C compiler")

	op = TABLE[name]
	kernelName = re.search(r"struct (\w+)_args \{", Source.kernelSource(op, dtype)).group(1)
	declaration = re.search(r"struct \w+_args \{.*?\};", Source.kernelSource(op, dtype)).group(0)

	prints = []
	for field, kind in fields(op):
		if kind == "pointer":
			prints.append('\tprintf("%%llu\\n", (unsigned long long)(uintptr_t)a.%s);' % field)
		elif kind == "float":
			prints.append('\tprintf("%%a\\n", (double)a.%s);' % field)
		else:
			prints.append('\tprintf("%%lld\\n", (long long)a.%s);' % field)

	packer = struct.Struct(Source.callFormat(op, dtype))
	source = tmp_path / "reader.c"
	source.write_text(READER % dict(
		struct=declaration, name=kernelName, size=packer.size, prints="\n".join(prints)
	))
	program = tmp_path / "reader"
	subprocess.run([cc, "-O1", "-o", str(program), str(source)], check=True, capture_output=True)

	expected = values(op)
	run = subprocess.run([str(program)], input=packer.pack(*expected), capture_output=True, check=True)
	size, *lines = run.stdout.decode().split()

	# the entry copies sizeof the struct out of the packed bytes: no more than were packed
	assert int(size) == packer.size
	assert len(lines) == len(expected), run.stdout
	for (field, kind), line, value in zip(fields(op), lines, expected):
		got = float.fromhex(line) if kind == "float" else int(line)
		assert got == value, "%s %s: field %s reads %r, packed %r" % (name, np.dtype(dtype), field, got, value)


@pytest.mark.parametrize("dtype", Source.DTYPES, ids=str)
def test_the_row_kernels_packed_call_is_read_field_by_field(tmp_path, dtype):
	"""Each row kernel's struct, as its own source declares it, reads back what rowCallFormat packs:
	the arrays' addresses, then C, S and N."""
	cc = HostCompiler.findCompiler()
	if cc is None:
		pytest.skip("no host C compiler")

	from PuzzleLib.CPU.Rows import KERNELS
	source = Source.rowsSource(dtype)
	for kernel, arity in KERNELS.items():
		name = "%s_%s" % (kernel, Source.SHORT_NAME[dtype])
		declaration = re.search(r"struct %s_args \{.*?\};" % name, source).group(0)
		pointers = re.findall(r"\*\s*(\w+);", declaration)
		assert len(pointers) == arity, declaration

		prints = ['\tprintf("%%llu\\n", (unsigned long long)(uintptr_t)a.%s);' % field for field in pointers] + [
			'\tprintf("%%lld\\n", (long long)a.%s);' % field for field in ("C", "S", "N")
		]
		packer = struct.Struct(Source.rowCallFormat(arity))
		program = tmp_path / name
		(tmp_path / (name + ".c")).write_text(READER % dict(
			struct=declaration, name=name, size=packer.size, prints="\n".join(prints)
		))
		subprocess.run([cc, "-O1", "-o", str(program), str(tmp_path / (name + ".c"))], check=True, capture_output=True)

		expected = [0x7F0000000000 + 0x1000 * (k + 1) + 64 * k for k in range(arity)] + [(1 << 40) + 3, -((1 << 33) + 5), (1 << 41) + 7]
		run = subprocess.run([str(program)], input=packer.pack(*expected), capture_output=True, check=True)
		size, *lines = run.stdout.decode().split()
		assert int(size) == packer.size
		assert [int(line) for line in lines] == expected, name
