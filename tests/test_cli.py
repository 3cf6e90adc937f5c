"""The headless commands, run in-process through the real entry point."""

import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoint import load_checkpoint


def test_train_writes_a_loadable_checkpoint_with_its_recipe(tmp_path, mnist_dir, capsys):
    out = tmp_path / "tiny.safetensors"
    code = main(["train", "--data-dir", str(mnist_dir), "--epochs", "1", "--hidden", "32",
                 "--batch-size", "500", "--seed", "5", "--device", "cpu", "--output", str(out)])
    assert code == 0
    loaded = load_checkpoint(out)
    assert loaded.model_config.hidden_sizes == (32,)
    assert loaded.train_config.seed == 5 and loaded.train_config.batch_size == 500
    assert loaded.metrics["epochs_completed"] == 1
    assert 100 < loaded.metrics["test_loss"] < 300
    assert loaded.provenance["command"].startswith("vae-explorer train --data-dir")
    printed = capsys.readouterr()
    assert "epoch   1/1" in printed.err + printed.out
    assert f"Saved {out}" in printed.out


def test_evaluate_prints_elbo_terms_and_iwae(capsys):
    from vae_explorer.core.checkpoint import default_checkpoint_path

    code = main(["evaluate", str(default_checkpoint_path()), "--iwae-k", "5", "--limit", "200"])
    assert code == 0
    out = capsys.readouterr().out
    assert "negative ELBO" in out and "reconstruction" in out and "KL" in out
    assert "IWAE log p(x) >=" in out and "k=5" in out


def test_evaluate_reports_a_bad_checkpoint_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a model")
    assert main(["evaluate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "error: bad.safetensors is not a vae-explorer checkpoint" in err
    assert "Traceback" not in err


def test_train_without_data_names_the_files_to_provide(tmp_path, capsys, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    code = main(["train", "--data-dir", str(tmp_path / "nothing"), "--output", str(tmp_path / "x.safetensors")])
    assert code == 2
    err = capsys.readouterr().err
    assert "MNIST/raw/train-images-idx3-ubyte" in err
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("argv", [["train", "--hidden", "a,b"], ["train", "--device", "tpu"]])
def test_bad_arguments_exit_with_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_python_dash_m_shows_help():
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "vae_explorer", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert "train" in result.stdout and "evaluate" in result.stdout
