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


def test_a_port_in_use_is_a_clear_error(runs_root, capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["view", str(runs_root), "--port", str(port), "--no-open", "--no-index"]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
