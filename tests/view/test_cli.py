"""`harness view` from the command line: bad paths are clear errors; --bundle writes a site."""

from __future__ import annotations

from harness.cli import main


def test_missing_path_is_a_clear_error(tmp_path, capsys):
    assert main(["view", str(tmp_path / "nowhere"), "--no-open"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_folder_without_runs_is_a_clear_error(tmp_path, capsys):
    assert main(["view", str(tmp_path), "--no-open"]) == 2
    assert "no runs under" in capsys.readouterr().err


def test_bundle_from_the_command_line(runs_root, tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["view", str(runs_root / "pool-b"), "--bundle", str(out), "--bundle-samples", "3"]) == 0
    assert capsys.readouterr().out.strip() == str(out / "index.html")
    assert (out / "data.js").stat().st_size > 1000
