import json
import os
import pickle

import pytest
import torch
from safetensors.torch import save_file

from vae_explorer.core import checkpoint as ckpt
from vae_explorer.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.config import ModelConfig, TrainConfig
from vae_explorer.core.model import build_model

CONFIG = ModelConfig(hidden_sizes=(32, 16), latent_dim=3)


@pytest.fixture
def saved(tmp_path):
    model = build_model(CONFIG, seed=1)
    original = Checkpoint(model, TrainConfig(epochs=2, seed=9), {"test_loss": 123.5}, "mnist",
                          {"command": "vae-explorer train --epochs 2"})
    path = save_checkpoint(original, tmp_path / "model.safetensors")
    return original, path


def test_round_trip_keeps_weights_configs_metrics_and_provenance(saved):
    original, path = saved
    loaded = load_checkpoint(path)
    assert loaded.model_config == CONFIG
    assert loaded.train_config == original.train_config
    assert loaded.metrics == {"test_loss": 123.5}
    assert loaded.provenance["command"] == "vae-explorer train --epochs 2"
    assert loaded.path == path
    for (name, a), b in zip(original.model.state_dict().items(), loaded.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not loaded.model.training


def test_save_is_atomic_when_writing_fails(saved, monkeypatch):
    original, path = saved
    good_bytes = path.read_bytes()

    def crash_half_way(tensors, filename, metadata=None):
        with open(filename, "wb") as handle:
            handle.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr("safetensors.torch.save_file", crash_half_way)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(original, path)
    assert path.read_bytes() == good_bytes
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"]  # no temp left


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_a_text_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_text("these are my notes, not a model")
    with pytest.raises(CheckpointError, match="not a vae-explorer checkpoint"):
        load_checkpoint(path)


def test_an_empty_file_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="not a vae-explorer checkpoint"):
        load_checkpoint(path)


def test_other_safetensors_files_are_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"author": "someone"})
    with pytest.raises(CheckpointError, match="no vae-explorer format marker"):
        load_checkpoint(path)


def test_truncated_file(saved):
    _, path = saved
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_corrupt_header(saved):
    _, path = saved
    data = bytearray(path.read_bytes())
    data[10:20] = b"\xff" * 10  # garble the JSON header
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="not a vae-explorer checkpoint"):
        load_checkpoint(path)


def _rewrite_metadata(path, **changes):
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        metadata = handle.metadata()
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}
    metadata.update(changes)
    save_file(tensors, str(path), metadata=metadata)


def test_unknown_format_version(saved):
    _, path = saved
    _rewrite_metadata(path, format_version="99")
    with pytest.raises(CheckpointError, match="format version 99.*reads version 1"):
        load_checkpoint(path)


def test_weights_that_do_not_match_the_config(saved):
    _, path = saved
    bigger = json.loads(ckpt.cfg.to_json(CONFIG))
    bigger["hidden_sizes"] = [64, 16]
    _rewrite_metadata(path, model_config=json.dumps(bigger))
    with pytest.raises(CheckpointError, match="do not match its model configuration"):
        load_checkpoint(path)


def test_invalid_config_in_the_header(saved):
    _, path = saved
    _rewrite_metadata(path, model_config='{"latent_dim": -2}')
    with pytest.raises(CheckpointError, match="invalid configuration"):
        load_checkpoint(path)


class _Payload:
    """Unpickling this would create a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickled_code_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=4))
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)
    assert not marker.exists()


def test_a_torch_save_file_is_refused_as_a_pickle(tmp_path):
    path = tmp_path / "model.pt"
    torch.save(build_model(CONFIG).state_dict(), path)
    with pytest.raises(CheckpointError, match="pickle"):
        load_checkpoint(path)


def test_saved_file_gets_ordinary_permissions(saved):
    _, path = saved
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_header_length_ending_in_0x80_is_not_taken_for_a_pickle(tmp_path):
    # Pickles start with byte 0x80; so does a safetensors file whose header length is 128 mod 256.
    model = build_model(CONFIG, seed=1)
    path = tmp_path / "m.safetensors"
    for pad in range(300):
        save_checkpoint(Checkpoint(model, metrics={"pad": "x" * pad}), path)
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length ending in 0x80")
    assert load_checkpoint(path).metrics["pad"] == "x" * pad
