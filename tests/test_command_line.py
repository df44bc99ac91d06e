"""The command lines (python -m PuzzleLib, python -m PuzzleLib.Benchmark) refuse bad values the
way argparse does: usage and a one-line error on stderr, exit status 2, no traceback."""

import sys

import pytest


BAD = (
	(["--repeat", "0"], "--repeat"),
	(["--repeat", "-3"], "--repeat"),
	(["--size", "-1"], "--size"),
	(["--size", "0"], "--size"),
	(["--size", "1e6"], "--size"),
)


def refusal(main, argv, monkeypatch, capsys):
	monkeypatch.setattr(sys, "argv", ["PuzzleLib"] + argv)
	with pytest.raises(SystemExit) as exit:
		main()

	err = capsys.readouterr().err
	assert exit.value.code == 2, err
	return err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv, option", BAD, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_main_job_refuses(backend, argv, option, monkeypatch, capsys):
	from PuzzleLib.__main__ import main
	line = refusal(main, argv, monkeypatch, capsys)
	assert "error: argument %s" % option in line and argv[1] in line


@pytest.mark.parametrize("argv, option", BAD + (
	(["--dtype", "int32"], "--dtype"),
	(["--dtype", "float32", "float8"], "--dtype"),
), ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_benchmark_refuses(backend, argv, option, monkeypatch, capsys):
	from PuzzleLib.Benchmark import main
	line = refusal(main, argv, monkeypatch, capsys)
	assert "error: argument %s" % option in line and argv[-1] in line
