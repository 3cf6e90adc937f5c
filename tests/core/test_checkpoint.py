"""Checkpoints: round trips, atomic saves, and files no header or byte can turn into a crash.

BAD_FILES below makes one broken checkpoint per case; tests/qt/test_app_startup.py
reuses it to check that the app opens the shipped model instead.
"""

import json
import math
import os
import pickle
import resource
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from vae_explorer.core import atomic_write
from vae_explorer.core.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from vae_explorer.core.checkpoint_header import MAX_HEADER_BYTES
from vae_explorer.core.config import TrainConfig
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.resources import shipped_checkpoint_path

CONFIG = MLPVAEConfig(hidden_sizes=(32, 16), latent_dim=3)


def small_model(seed=1):
    return registry.build("mlp_vae", CONFIG, seed=seed)


def write_good(path: Path) -> Path:
    original = Checkpoint(small_model(), TrainConfig(epochs=2, seed=9), {"test_loss": 123.5}, "mnist",
                          {"command": "vae-explorer train --epochs 2", "seed": 9})
    return save_checkpoint(original, path)


# --------------------------------------------------------- hand-made files


def split(path: Path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + length]), raw[8 + length :]


def join(path: Path, header, data: bytes) -> Path:
    text = header if isinstance(header, str) else json.dumps(header)
    encoded = text.encode()
    path.write_bytes(len(encoded).to_bytes(8, "little") + encoded + data)
    return path


def edited(change, source=None):
    """A builder: a good small checkpoint (or `source`) whose parsed header `change` edits in place."""

    def build(folder: Path) -> Path:
        path = folder / "bad.safetensors"
        if source is None:
            write_good(path)
        else:
            path.write_bytes(source().read_bytes())
        header, data = split(path)
        result = change(header, data)
        return join(path, header, result if isinstance(result, bytes) else data)

    return build


def meta(**values):
    def change(header, data):
        for key, value in values.items():
            if value is None:
                header["__metadata__"].pop(key, None)
            else:
                header["__metadata__"][key] = value

    return change


def config_with(**values):
    def change(header, data):
        config = json.loads(header["__metadata__"]["model_config"])
        config.update(values)
        header["__metadata__"]["model_config"] = json.dumps(config)

    return change


def tensor(key, **values):
    def change(header, data):
        header[key].update(values)

    return change


def raw_file(content: bytes):
    def build(folder: Path) -> Path:
        path = folder / "bad.safetensors"
        path.write_bytes(content)
        return path

    return build


def sparse(header_len: int, size: int):
    """A file that starts like safetensors and claims a size; sparse, so it costs no disk."""

    def build(folder: Path) -> Path:
        path = folder / "bad.safetensors"
        with open(path, "wb") as handle:
            handle.write(header_len.to_bytes(8, "little") + b'{"a": 1}')
            handle.truncate(size)
        return path

    return build


def header_text(text: str):
    def build(folder: Path) -> Path:
        return join(folder / "bad.safetensors", text, b"")

    return build


def poison(value):
    def change(header, data):
        begin = header["encoder.2.weight"]["data_offsets"][0]
        data = bytearray(data)
        data[begin + 8 : begin + 12] = np.array([value], "<f4").tobytes()
        return bytes(data)

    return change


def offsets(key, pair):
    return tensor(key, data_offsets=pair)


def _last(header):
    return max((k for k in header if k != "__metadata__"), key=lambda k: header[k]["data_offsets"][0])


def overlap(header, data):
    header[_last(header)]["data_offsets"][0] -= 4


def past_the_end(header, data):
    header[_last(header)]["data_offsets"][1] += 400


def rename(header, data):
    header["to_mu.weightX"] = header.pop("to_mu.weight")


def shipped():
    return shipped_checkpoint_path()


# case -> (builder, what the message must say). Each message must also be a single line.
BAD_FILES = {
    "text file": (raw_file(b"these are my notes, not a model"),
        r"bad.safetensors is not a vae-explorer checkpoint"),
    "empty file": (raw_file(b""), r"not a vae-explorer checkpoint \(too short\)"),
    "header length 2 MB": (sparse(2_000_000, 2_100_000), r"its header claims 2,000,000 bytes, more than"),
    "file of 500 MB": (sparse(1000, 500_000_000), r"is 500 MB, larger than any checkpoint vae-explorer opens"),
    "header not JSON": (header_text('{"a": nope}'),
        r"not a vae-explorer checkpoint: its header is not valid JSON \(Expecting"),
    "header nested 100,000 deep": (header_text('{"a": ' + "[" * 100_000),
        r"not a vae-explorer checkpoint: its header is nested too deeply"),
    "header not UTF-8": (raw_file(b"\x08" + b"\0" * 7 + b"{\xff\xfe\xfd\xfc\xfb\xfa\xf9"), r"not UTF-8"),
    "key twice": (header_text('{"__metadata__": {}, "__metadata__": {}}'),
        r"its header names the key '__metadata__' twice"),
    "__metadata__ a list": (edited(lambda h, d: h.update(__metadata__=["x"])),
        r"__metadata__ is an array, not an object"),
    "metadata value a number": (edited(meta(format_version=2)),
        r"metadata entry 'format_version' is a number, not a string"),
    "no format marker": (edited(meta(format=None)), r"no vae-explorer format marker"),
    "format version 3": (edited(meta(format_version="3")),
        r"format version 3, newer than the versions 1 and 2 this vae-explorer reads\. Upgrade"),
    "format version junk": (edited(meta(format_version="two")), r"unknown checkpoint format version \('two'\)"),
    "unknown kind": (edited(meta(kind="diffusion")), r"unknown kind 'diffusion'; this vae-explorer knows .*vae"),
    "no kind in version 2": (edited(meta(kind=None)), r"does not say what kind of model it holds"),
    "no model config": (edited(meta(model_config=None)), r"has no model configuration"),
    "model config not JSON": (edited(meta(model_config="{latent")), r"the model configuration is not valid JSON"),
    "model config nested 100,000 deep": (edited(meta(model_config="[" * 100_000)),
        r"the model configuration is nested too deeply"),
    "model config a list": (edited(meta(model_config="[2, 3]")),
        r"invalid model configuration: VAEConfig must be a JSON object, got list"),
    "latent_dim a string": (edited(config_with(latent_dim="3")),
        r"latent_dim must be a whole number, got str '3'"),
    "latent_dim true": (edited(config_with(latent_dim=True)), r"latent_dim must be a whole number, got bool True"),
    "latent_dim a float": (edited(config_with(latent_dim=3.0)),
        r"latent_dim must be a whole number, got float 3.0"),
    "latent_dim negative": (edited(config_with(latent_dim=-2)), r"latent_dim must be between 1 and 1,024"),
    "latent_dim huge": (edited(config_with(latent_dim=10**30)), r"latent_dim must be between 1 and 1,024"),
    "hidden sizes strings": (edited(config_with(hidden_sizes=["32", "16"])),
        r"hidden_sizes must be a list of whole numbers"),
    "unknown config field": (edited(config_with(depth=3)), r"unknown VAEConfig fields: \['depth'\]"),
    "4,000,000-wide hidden layer": (edited(config_with(hidden_sizes=[4_000_000, 256]), source=shipped),
        r"invalid model configuration: give 1 to 16 hidden sizes, each from 1 to 16,384"),
    "billions of parameters": (edited(config_with(hidden_sizes=[16_384] * 16, image_shape=[512, 512])),
        r"describes a model too large to open: .* more than the 100,000,000"),
    "weights of another size": (edited(config_with(hidden_sizes=[64, 16])),
        r"do not match its model configuration: tensor 'encoder.0.weight' has shape \[32, 784\], "
        r"expected \[64, 784\]"),
    "a tensor renamed": (edited(rename),
        r"do not match its model configuration: it has no tensor 'to_mu.weight' \(and 1 more difference\)"),
    "F16 tensor": (edited(tensor("to_mu.bias", dtype="F16")), r"tensor 'to_mu.bias' is 'F16', expected F32"),
    "shape of floats": (edited(tensor("to_mu.bias", shape=[3.0])),
        r"tensor 'to_mu.bias' has a shape that is not a list of whole numbers"),
    "negative shape": (edited(tensor("to_mu.bias", shape=[-3])),
        r"tensor 'to_mu.bias' has a shape that is not a list"),
    "offsets not a pair": (edited(offsets("to_mu.bias", [0])),
        r"data_offsets that are not a pair of whole numbers"),
    "offsets strings": (edited(offsets("to_mu.bias", ["0", "12"])),
        r"data_offsets that are not a pair of whole numbers"),
    "offsets true/false": (edited(offsets("to_mu.bias", [False, True])),
        r"data_offsets that are not a pair of whole numbers"),
    "offsets reversed": (edited(offsets("decoder.0.bias", [64, 0])), r"data_offsets \[64, 0\] out of order"),
    "offsets overlap": (edited(overlap), r"corrupt: tensor '.*' overlaps the one before it"),
    "offsets with a gap": (edited(offsets("to_mu.weight", [10**12, 10**12 + 4])),
        r"corrupt: there is a gap before tensor 'to_mu.weight'"),
    "offsets past the end": (edited(past_the_end), r"truncated: it ends before the weights it describes"),
    "entry without dtype": (edited(lambda h, d: h["to_mu.bias"].pop("dtype")),
        r"is not described by dtype, shape and data_offsets"),
    "bytes after the weights": (edited(lambda h, d: d + b"\0" * 16), r"holds 16 bytes after the weights"),
    "truncated": (edited(lambda h, d: d[: len(d) // 2]), r"truncated: it ends before the weights it describes"),
    "train config a list": (edited(meta(train_config="[1]")),
        r"invalid training configuration: TrainConfig must be a JSON object"),
    "epochs a string": (edited(meta(train_config='{"epochs": "30"}')),
        r"TrainConfig.epochs must be a whole number, got str '30'"),
    "batch size a float": (edited(meta(train_config='{"batch_size": 128.0}')),
        r"TrainConfig.batch_size must be a whole number"),
    "metrics a list": (edited(meta(metrics="[1, 2]")), r"the metrics entry is an array, not an object"),
    "metrics not JSON": (edited(meta(metrics="{")), r"the metrics entry is not valid JSON"),
    "metrics nested 100,000 deep": (edited(meta(metrics='{"a": ' + "[" * 100_000)),
        r"the metrics entry is nested too deeply"),
    "provenance a string": (edited(meta(provenance='"by hand"')),
        r"the provenance entry is a string, not an object"),
    "NaN weight": (edited(poison(float("nan"))), r"NaN or infinite weights in tensor 'encoder.2.weight'"),
    "infinite weight": (edited(poison(float("inf"))), r"NaN or infinite weights in tensor 'encoder.2.weight'"),
    "pickle": (raw_file(pickle.dumps({"w": [1.0, 2.0]}, protocol=4)),
        r"is a pickle \(for example a torch.save file\)"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_file_fails_with_one_clear_line(case, tmp_path):
    build, expected = BAD_FILES[case]
    path = build(tmp_path)
    with pytest.raises(CheckpointError, match=expected) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 400, message


# ---------------------------------------------------------------- loading


@pytest.fixture
def saved(tmp_path):
    path = write_good(tmp_path / "model.safetensors")
    return load_checkpoint(path), path


def test_round_trip_keeps_weights_configs_metrics_and_provenance(tmp_path):
    model = small_model()
    original = Checkpoint(model, TrainConfig(epochs=2, seed=9), {"test_loss": 123.5}, "mnist",
                          {"command": "vae-explorer train --epochs 2"})
    path = save_checkpoint(original, tmp_path / "model.safetensors")
    loaded = load_checkpoint(path)
    assert loaded.kind == "vae" and loaded.model_config == CONFIG
    assert loaded.train_config == original.train_config
    assert loaded.metrics == {"test_loss": 123.5}
    assert loaded.provenance == {"command": "vae-explorer train --epochs 2"}
    assert loaded.path == path
    for (name, a), b in zip(model.state_dict().items(), loaded.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert not loaded.model.training


def test_a_version_1_file_loads_as_an_mlp_vae(tmp_path):
    def as_version_1(header, data):
        metadata = header["__metadata__"]
        metadata["format_version"] = "1"
        del metadata["kind"]
        config = json.loads(metadata["model_config"])
        config["input_dim"] = 784
        metadata["model_config"] = json.dumps(config)

    loaded = load_checkpoint(edited(as_version_1)(tmp_path))
    assert loaded.kind == "vae" and loaded.model_config == CONFIG


def test_the_shipped_model_still_loads():
    loaded = load_checkpoint(shipped_checkpoint_path())
    assert loaded.kind == "vae" and loaded.model_config.hidden_sizes == (512, 256)


def test_loading_leaves_the_global_random_state_alone(saved):
    _, path = saved
    state = torch.random.get_rng_state()
    load_checkpoint(path)
    assert torch.equal(torch.random.get_rng_state(), state)


@pytest.mark.parametrize("hidden, image", [([4_000_000, 256], [28, 28]), ([16_384] * 16, [512, 512]),
                                           ([8_192, 4_096], [28, 28])])
def test_a_huge_model_claim_fails_at_once_without_allocating(hidden, image, tmp_path, monkeypatch):
    # Issue: a 4 MB file claiming a 4,000,000-wide layer allocated 23 GB until the kernel killed it.
    # [8192, 4096] passes every range check (80 M parameters) and must fail on the tensor shapes.
    path = edited(config_with(hidden_sizes=hidden, image_shape=image), source=shipped)(tmp_path)

    def no_model(*args, **kwargs):
        raise AssertionError("a model was built before the file was validated")

    monkeypatch.setattr(registry, "build", no_model)
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with pytest.raises(CheckpointError):
        load_checkpoint(path)
    assert time.perf_counter() - start < 2.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_kb < 100_000  # under 100 MB more


def test_odd_metrics_and_provenance_become_plain_values(tmp_path):
    metrics = {"test_loss": 1.5, "epochs": 3, "flag": True, "none": None, "nested": [[1, 2], {"a": 3}],
               "huge": 10**40, "nan": float("nan"), "escape": "red\x1b[31m\nline"}
    path = edited(meta(metrics=json.dumps(metrics), provenance=json.dumps({"command": {"argv": ["x"]},
                                                                           "seed": "zero"})))(tmp_path)
    loaded = load_checkpoint(path)
    assert loaded.metrics["test_loss"] == 1.5 and loaded.metrics["epochs"] == 3
    assert loaded.metrics["flag"] is True and loaded.metrics["none"] is None
    assert loaded.metrics["nested"] == '[[1, 2], {"a": 3}]'
    assert loaded.metrics["huge"] == str(10**40)
    assert math.isnan(loaded.metrics["nan"])
    assert loaded.metrics["escape"] == "red?[31m?line"
    assert loaded.provenance == {"command": '{"argv": ["x"]}', "seed": "zero"}
    for values in (loaded.metrics, loaded.provenance):
        for value in values.values():
            assert value is None or isinstance(value, (str, int, float, bool))
            if isinstance(value, (int, float)):
                f"{value:8.2f}"  # printing a number never fails


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        load_checkpoint(tmp_path / "nope.safetensors")


def test_a_folder_or_a_fifo_is_not_a_checkpoint_file(tmp_path):
    with pytest.raises(CheckpointError, match="is a folder, not a checkpoint file"):
        load_checkpoint(tmp_path)
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match=r"is a named pipe \(FIFO\), not a checkpoint file"):
        load_checkpoint(fifo)  # and does not hang waiting for a writer


def test_other_safetensors_files_are_refused(tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(3)}, str(path), metadata={"author": "someone"})
    with pytest.raises(CheckpointError, match="no vae-explorer format marker"):
        load_checkpoint(path)




def test_the_header_checks_load_without_torch():
    code = "import sys, vae_explorer.core.checkpoint_header; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_a_header_cap_of_one_megabyte_is_plenty():
    # The shipped header holds 14 tensors in about 2.3 KB.
    length = int.from_bytes(shipped_checkpoint_path().read_bytes()[:8], "little")
    assert length * 100 < MAX_HEADER_BYTES


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
    torch.save(small_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="is a pickle"):
        load_checkpoint(path)


def test_a_header_length_ending_in_0x80_is_not_taken_for_a_pickle(tmp_path):
    # Pickles start with byte 0x80; so does a safetensors file whose header length is 128 mod 256.
    model = small_model()
    path = tmp_path / "m.safetensors"
    for pad in range(300):
        save_checkpoint(Checkpoint(model, metrics={"pad": "x" * pad}), path)
        if path.read_bytes()[0] == 0x80:
            break
    else:
        pytest.fail("no padding gave a header length ending in 0x80")
    assert load_checkpoint(path).metrics["pad"] == "x" * pad


# ----------------------------------------------------------------- saving


def test_save_is_atomic_when_writing_fails(saved, monkeypatch):
    checkpoint, path = saved
    good_bytes = path.read_bytes()

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(checkpoint, path)
    assert path.read_bytes() == good_bytes
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.safetensors"]  # no temp left


def test_save_fsyncs_the_file_and_then_its_folder(saved, monkeypatch):
    checkpoint, path = saved
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(stat.S_ISDIR(os.fstat(fd).st_mode)),
                                                 real_fsync(fd)))
    save_checkpoint(checkpoint, path)
    assert synced == [False, True]


def _target_kinds(folder: Path):
    regular = folder / "real.safetensors"
    regular.write_bytes(b"keep me")
    link = folder / "link.safetensors"
    link.symlink_to(regular)
    fifo = folder / "pipe.safetensors"
    os.mkfifo(fifo)
    subfolder = folder / "sub.safetensors"
    subfolder.mkdir()
    return {"a symbolic link": link, "a named pipe": fifo, "a folder": subfolder, "a device": Path("/dev/null")}


@pytest.mark.parametrize("kind", ["a symbolic link", "a named pipe", "a folder", "a device"])
def test_save_refuses_a_target_that_is_not_a_regular_file(kind, saved, tmp_path):
    checkpoint, _ = saved
    target = _target_kinds(tmp_path)[kind]
    before = os.lstat(target)
    refused = f"is {kind}.*, not a regular file; vae-explorer will not replace it"
    with pytest.raises(CheckpointError, match=refused):
        save_checkpoint(checkpoint, target)
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert (tmp_path / "real.safetensors").read_bytes() == b"keep me"  # the link was not followed


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_save_removes_stale_temps_of_the_same_target_and_keeps_live_ones(saved):
    checkpoint, path = saved
    folder = path.parent
    hour_ago = time.time() - 2 * atomic_write.STALE_AFTER_S
    files = {
        f".model.safetensors.{_dead_pid()}-0badf00d.tmp": (None, False),  # its save crashed
        f".model.safetensors.{os.getpid()}-0123abcd.tmp": (None, True),  # a save running now
        f".model.safetensors.{os.getpid()}-4567cdef.tmp": (hour_ago, False),  # old: the pid was reused
        ".model.safetensors.k3x_9q2z.tmp": (None, True),  # an older version's mkstemp name, fresh
        ".model.safetensors.a8b_7c6d.tmp": (hour_ago, False),  # ... and old
        f".other.safetensors.{_dead_pid()}-0badf00d.tmp": (None, True),  # another target's
        f".model.safetensors.{_dead_pid()}-0badf00d.tmp.keep": (None, True),  # not our pattern
    }
    for name, (mtime, _) in files.items():
        (folder / name).write_bytes(b"half a checkpoint")
        if mtime:
            os.utime(folder / name, (mtime, mtime))
    save_checkpoint(checkpoint, path)
    left = {p.name for p in folder.iterdir()}
    assert left == {"model.safetensors"} | {name for name, (_, kept) in files.items() if kept}


def test_save_refuses_non_finite_weights_and_writes_nothing(tmp_path):
    model = small_model()
    with torch.no_grad():
        next(model.parameters())[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match=r"tensor '.*' holds NaN or infinite values"):
        save_checkpoint(Checkpoint(model), tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_save_creates_missing_folders_and_stores_plain_metrics(tmp_path):
    path = tmp_path / "a" / "b" / "m.safetensors"
    save_checkpoint(Checkpoint(small_model(), metrics={"loss": np.float32(1.5), "steps": np.int64(4)}), path)
    assert load_checkpoint(path).metrics == {"loss": 1.5, "steps": 4}


def test_saved_file_gets_ordinary_permissions(saved):
    _, path = saved
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
