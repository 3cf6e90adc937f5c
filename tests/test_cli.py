"""The headless commands, run through the real entry point (in-process, or as a real process)."""

import os
import signal
import subprocess
import sys
import time

import pytest

from vae_explorer.cli import main
from vae_explorer.core.checkpoint import load_checkpoint

TINY = ["--epochs", "1", "--hidden", "32", "--batch-size", "100", "--device", "cpu"]


def test_train_writes_a_loadable_checkpoint_with_its_recipe(tmp_path, tiny_mnist_dir, capsys):
    out = tmp_path / "tiny.safetensors"
    code = main(["train", "--data-dir", str(tiny_mnist_dir), *TINY, "--seed", "5", "--iwae-k", "3",
                 "--output", str(out)])
    assert code == 0
    loaded = load_checkpoint(out)
    assert loaded.kind == "vae" and loaded.model_config.hidden_sizes == (32,)
    assert loaded.train_config.seed == 5 and loaded.train_config.batch_size == 100
    assert loaded.metrics["epochs_completed"] == 1
    assert 100 < loaded.metrics["test_loss"] < 600
    assert loaded.metrics["iwae_k"] == 3
    assert loaded.provenance["command"].startswith("vae-explorer train --data-dir")
    assert loaded.provenance["threads"] == 1  # the one default policy
    printed = capsys.readouterr()
    assert "epoch   1/1" in printed.err + printed.out
    assert f"Saved {out}" in printed.out


@pytest.mark.slow
def test_train_on_the_full_split(tmp_path, mnist_dir, capsys):
    out = tmp_path / "full.safetensors"
    code = main(["train", "--data-dir", str(mnist_dir), "--epochs", "1", "--hidden", "32",
                 "--batch-size", "500", "--device", "cpu", "--output", str(out)])
    assert code == 0
    assert 100 < load_checkpoint(out).metrics["test_loss"] < 300


def test_evaluate_prints_elbo_terms_and_iwae(capsys):
    from vae_explorer.core.checkpoint import default_checkpoint_path

    code = main(["evaluate", str(default_checkpoint_path()), "--iwae-k", "5", "--limit", "200"])
    assert code == 0
    out = capsys.readouterr().out
    assert "test −ELBO" in out and "reconstruction" in out and "KL" in out
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


@pytest.mark.parametrize("target", ["folder", "dev-null", "symlink", "fifo"])
def test_train_refuses_an_output_that_is_not_a_regular_file_before_training(
        target, tmp_path, tiny_mnist_dir, capsys):
    real = tmp_path / "real.safetensors"
    real.write_bytes(b"keep me")
    path = {"folder": tmp_path, "dev-null": "/dev/null", "symlink": tmp_path / "link.safetensors",
            "fifo": tmp_path / "pipe.safetensors"}[target]
    if target == "symlink":
        path.symlink_to(real)
    if target == "fifo":
        os.mkfifo(path)
    code = main(["train", "--data-dir", str(tiny_mnist_dir), *TINY, "--output", str(path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err and "epoch" not in err
    assert real.read_bytes() == b"keep me"


def test_ctrl_c_mid_run_saves_a_truthful_partial_checkpoint(tmp_path, tiny_mnist_dir):
    out = tmp_path / "run.safetensors"
    command = [sys.executable, "-m", "vae_explorer", "train", "--data-dir", str(tiny_mnist_dir),
               "--epochs", "200", "--hidden", "32", "--batch-size", "10", "--device", "cpu",
               "--output", str(out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = ""
    deadline = time.monotonic() + 120
    while "epoch   1/200" not in seen and time.monotonic() < deadline:
        seen += process.stdout.readline()
    time.sleep(0.3)  # into epoch 2
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=120)
    assert process.returncode == 1, seen + rest
    partial = tmp_path / "run.partial.safetensors"
    assert not out.exists() and partial.exists()
    assert str(partial) in rest and "Traceback" not in rest
    loaded = load_checkpoint(partial)
    assert loaded.provenance["stopped"] == "cancelled"
    batches = loaded.metrics["batches_into_epoch"]
    assert loaded.metrics["epochs_completed"] >= 1
    if batches:
        assert f"after batch {batches} of 200" in loaded.provenance["weights"]


@pytest.mark.parametrize("argv", [["train", "--hidden", "a,b"], ["train", "--device", "tpu"],
                                  ["train", "--hidden", "0"]])
def test_bad_arguments_exit_with_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_python_dash_m_shows_help():
    result = subprocess.run([sys.executable, "-m", "vae_explorer", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0
    assert "train" in result.stdout and "evaluate" in result.stdout


@pytest.mark.parametrize("kind, extra", [
    ("autoencoder", []),
    ("conditional_vae", ["--kl-warmup", "1"]),
    ("vq_vae", ["--set", "codebook_size=8", "--set", "embedding_dim=4"]),
])
def test_train_any_kind_from_the_command_line(tmp_path, tiny_mnist_dir, kind, extra):
    out = tmp_path / f"{kind}.safetensors"
    options = ["--epochs", "1", "--batch-size", "100", "--device", "cpu"]
    if kind != "vq_vae":
        options += ["--hidden", "16"]
    code = main(["train", "--data-dir", str(tiny_mnist_dir), "--kind", kind, *options, *extra, "--output", str(out)])
    assert code == 0
    loaded = load_checkpoint(out)
    assert loaded.kind == kind and loaded.metrics["epochs_completed"] == 1
    assert f"--kind {kind}" in loaded.provenance["command"]


def test_kind_settings_are_listed_and_bad_ones_refused_in_one_line(capsys):
    assert main(["train", "--kind", "vq_vae", "--list-settings"]) == 0
    assert "codebook_size" in capsys.readouterr().out
    assert main(["train", "--kind", "vq_vae", "--hidden", "32"]) == 2
    assert "--hidden does not apply to a vq_vae model" in capsys.readouterr().err
    assert main(["train", "--set", "colour=blue"]) == 2
    err = capsys.readouterr().err
    assert "has no setting 'colour'" in err and "latent_dim" in err
    assert main(["train", "--kind", "transformer"]) == 2
    assert "unknown model kind 'transformer'" in capsys.readouterr().err
    assert main(["train", "--set", "latent_dim=two"]) == 2
    assert "latent_dim" in capsys.readouterr().err


def test_gaps_prints_log_px_the_two_elbos_and_the_gaps(capsys):
    from vae_explorer.core.checkpoint import default_checkpoint_path

    assert main(["gaps", str(default_checkpoint_path()), "--limit", "3", "--steps", "20"]) == 0
    out = capsys.readouterr().out
    values = {}
    for label in ("log p(x)", "ELBO q*", "ELBO q", "IWAE", "approximation gap", "amortization gap"):
        line = next(line for line in out.splitlines() if line.startswith(label + " "))
        values[label] = float(line.split()[-2])
        assert line.endswith("nats")
    assert values["log p(x)"] >= values["ELBO q*"] - 0.05 and values["ELBO q*"] >= values["ELBO q"]
    assert values["approximation gap"] == pytest.approx(values["log p(x)"] - values["ELBO q*"], abs=0.02)


def test_gaps_refuses_a_model_it_cannot_handle(capsys):
    from vae_explorer.core.resources import shipped_checkpoint_path

    code = main(["gaps", str(shipped_checkpoint_path().with_name("mnist-20d.safetensors")), "--limit", "2"])
    assert code == 2 and "2-D latent" in capsys.readouterr().err


def test_evaluate_a_classifier_and_a_model_through_it(capsys):
    import re

    from vae_explorer.core.resources import shipped_checkpoints_folder, shipped_classifier_path

    code = main(["evaluate", str(shipped_classifier_path()), "--limit", "2000",
                 "--model", str(shipped_checkpoints_folder() / "mnist-2d.safetensors")])
    out = capsys.readouterr().out
    assert code == 0, out
    figure = lambda label: float(re.search(rf"{label}\s+([\d.]+)", out).group(1))  # noqa: E731
    assert figure("test accuracy") > 97.0
    kept = figure("accuracy on its reconstructions")
    assert 30.0 < kept < figure("test accuracy")  # a 2-D code keeps most of the class, not all of it
    shares = [float(v) for v in re.findall(r"\d (\d+\.\d)%", out.split("prior samples:")[1].splitlines()[0])]
    assert len(shares) == 10 and abs(sum(shares) - 100.0) < 0.5
    assert 0.5 < figure(r"\(normalised entropy, 1 = all equal\)") <= 1.0


def test_a_model_without_a_prior_gets_no_prior_samples_and_a_bad_output_a_message(tmp_path, capsys):
    from vae_explorer.core.resources import shipped_checkpoints_folder, shipped_classifier_path

    code = main(["evaluate", str(shipped_classifier_path()), "--limit", "500",
                 "--model", str(shipped_checkpoints_folder() / "mnist-ae-2d.safetensors")])
    out = capsys.readouterr().out
    assert code == 0 and "not drawn: this model has no prior over z" in out
    (tmp_path / "taken").mkdir()
    code = main(["train-classifier", "--data-dir", str(tmp_path), "-o", str(tmp_path / "taken")])
    err = capsys.readouterr().err
    assert code == 2 and "vae-explorer: error:" in err and "Traceback" not in err


def test_train_classifier_quick_writes_a_classifier_that_evaluate_reads(tmp_path, capsys):
    from vae_explorer.core.classifier import QUICK_RECIPE, load_classifier

    output = tmp_path / "quick.safetensors"
    code = main(["train-classifier", "--quick", "--epochs", "1", "--batch-size", "256", "-o", str(output)])
    out = capsys.readouterr().out
    assert code == 0 and "Saved" in out and "after 1 epoch (" in out
    saved = load_classifier(output)
    assert saved.model.config.channels == QUICK_RECIPE.channels and saved.metrics["test_accuracy"] > 0.9
    assert "--quick" in saved.provenance["command"]
    assert main(["evaluate", str(output), "--limit", "500"]) == 0
    assert "test accuracy" in capsys.readouterr().out
