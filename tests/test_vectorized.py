"""Every loop of the CPU library marked `#pragma omp simd` is vectorized by the compiler.

A loop that is not runs about ten times slower with no change in any result, so no other test
notices: this one asks gcc's vectorizer report, for the library's own source and flags. (It
caught inline math left uninlined once the library outgrew gcc's inlining budget.)
"""

import re
import subprocess

import pytest

from PuzzleLib.CPU import HostCompiler, Source


def _gcc():
	cc = HostCompiler.findCompiler()
	if cc is None:
		pytest.skip("no host C compiler")
	version = subprocess.run([cc, "--version"], capture_output=True, text=True).stdout
	if "Free Software Foundation" not in version:
		pytest.skip("the vectorizer report is gcc's (-fopt-info-vec)")
	return cc


def simdLoops(lines):
	"""(the line of the loop, the last line of its body, the function it is in) for each
	`#pragma omp simd`: a body in braces ends at the matching one, any other is one statement."""
	loops, function = [], None
	for number, line in enumerate(lines, start=1):
		match = re.match(r"^(?:static |PZ_INLINE )?[\w ]+?\**(\w+)\(", line)
		if match and not line.startswith(("\t", " ")):
			function = match.group(1)
		if line.strip() == "#pragma omp simd":
			loops.append((number + 1, _bodyEnd(lines, number), function))
	return loops


def _bodyEnd(lines, index):
	"""The last line number of the loop whose `for` is lines[index]."""
	if not lines[index].rstrip().endswith("{"):
		return index + 2
	depth = 0
	for number in range(index, len(lines)):
		depth += lines[number].count("{") - lines[number].count("}")
		if depth == 0:
			return number + 1
	return len(lines)


def test_every_simd_loop_of_the_library_is_vectorized(tmp_path):
	cc = _gcc()
	source = tmp_path / "library.c"
	source.write_text(Source.librarySource())
	report = tmp_path / "vectorized.txt"

	flags = [flag for flag in HostCompiler.FLAGS if flag != "-shared"]
	subprocess.run(
		[cc, *flags, "-c", "-fopt-info-vec-optimized=%s" % report, "-o", str(tmp_path / "library.o"), str(source)],
		check=True, capture_output=True, timeout=600
	)

	# gcc names a loop by its `for` line or the line of a statement in it (of an inner loop it has
	# unrolled: the softmax exps' groups)
	vectorized = {int(n) for n in re.findall(r":(\d+):\d+: optimized: loop vectorized", report.read_text())}
	loops = simdLoops(source.read_text().split("\n"))
	assert len(loops) > 50

	missed = [(line, function) for line, last, function in loops if not set(range(line, last + 1)) & vectorized]
	assert missed == [], "loops left scalar: %s" % missed
