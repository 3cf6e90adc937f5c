"""The output target: checked before training, and a save that always puts the weights somewhere."""

import errno
import os
import re
from pathlib import Path

import pytest

from vae_explorer.core import outputs
from vae_explorer.core.checkpoint import Checkpoint, load_checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig
from vae_explorer.core.outputs import OutputPathError, check_output_target, partial_path, save_with_fallback

RECOVERED = re.compile(r"model\.recovered-\d{8}-\d{6}\.safetensors")
as_root = pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits")


@pytest.fixture(scope="module")
def checkpoint():
    return Checkpoint(registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(8,), latent_dim=2), seed=0))


# ------------------------------------------------------------ the check


def test_a_new_file_in_a_folder_is_fine_and_the_check_leaves_nothing_behind(tmp_path):
    assert check_output_target(tmp_path / "model.safetensors") == tmp_path / "model.safetensors"
    assert list(tmp_path.iterdir()) == []


def test_an_existing_regular_file_may_be_replaced(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"old")
    assert check_output_target(str(tmp_path / "model.safetensors")) == tmp_path / "model.safetensors"


def test_the_home_folder_is_expanded(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert check_output_target("~/model.safetensors") == tmp_path / "model.safetensors"


def test_missing_folders_are_not_created_by_the_check(tmp_path):
    target = tmp_path / "runs" / "today" / "model.safetensors"
    assert check_output_target(target) == target
    assert list(tmp_path.iterdir()) == []


def _special(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / "model.safetensors"
    if kind == "a folder":
        path.mkdir()
    elif kind == "a symbolic link":
        (tmp_path / "real.safetensors").write_bytes(b"x")
        path.symlink_to(tmp_path / "real.safetensors")
    elif kind == "a named pipe":
        os.mkfifo(path)
    else:
        return Path("/dev/null")
    return path


@pytest.mark.parametrize("kind", ["a folder", "a symbolic link", "a named pipe", "a device"])
def test_a_target_that_is_not_a_regular_file_is_refused(kind, tmp_path):
    with pytest.raises(OutputPathError, match=f"is {kind}.*, not a regular file; choose another output file"):
        check_output_target(_special(tmp_path, kind))


def test_a_dangling_symbolic_link_is_refused_too(tmp_path):
    (tmp_path / "model.safetensors").symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputPathError, match="is a symbolic link"):
        check_output_target(tmp_path / "model.safetensors")


def test_a_parent_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputPathError, match=r"notes.txt is a file, not a folder, so model.safetensors cannot"):
        check_output_target(tmp_path / "notes.txt" / "model.safetensors")
    with pytest.raises(OutputPathError, match=r"notes.txt is a file, so the folder .*notes.txt/a/b cannot be created"):
        check_output_target(tmp_path / "notes.txt" / "a" / "b" / "model.safetensors")


def test_a_folder_that_accepts_no_files_is_refused_even_for_root():
    # /proc refuses new files whoever asks, so this holds when the tests run as root.
    with pytest.raises(OutputPathError, match=r"cannot write in the folder /proc: it does not accept new files"):
        check_output_target("/proc/model.safetensors")
    with pytest.raises(OutputPathError, match=r"cannot create the folder /proc/runs: cannot write in /proc"):
        check_output_target("/proc/runs/model.safetensors")


@as_root
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="cannot write in the folder .*locked: Permission denied"):
            check_output_target(folder / "model.safetensors")
        with pytest.raises(OutputPathError, match="cannot create the folder .*locked/sub"):
            check_output_target(folder / "sub" / "model.safetensors")
    finally:
        folder.chmod(0o700)


def test_a_refused_probe_file_is_reported(tmp_path, monkeypatch):
    # The same path as a read-only folder, reached by faking the refusal (root skips the test above).
    def refuse(path, *args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(outputs.os, "open", refuse)
    with pytest.raises(OutputPathError, match=f"cannot write in the folder {tmp_path}: Permission denied$"):
        check_output_target(tmp_path / "model.safetensors")


def test_every_refusal_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    for target in (tmp_path, tmp_path / "f" / "m", "/proc/m"):
        with pytest.raises(OutputPathError) as caught:
            check_output_target(target)
        assert "\n" not in str(caught.value)


def test_partial_path():
    assert partial_path(Path("/a/model.safetensors")) == Path("/a/model.partial.safetensors")


# ------------------------------------------------------------ the save


def test_the_target_gets_the_weights_when_it_can(checkpoint, tmp_path):
    target = tmp_path / "new" / "folder" / "model.safetensors"  # folders are made at save time
    assert save_with_fallback(checkpoint, target) == (target, "")
    assert load_checkpoint(target).model_config == checkpoint.model_config


def test_a_target_that_became_a_folder_after_the_check_saves_beside_it(checkpoint, tmp_path):
    target = check_output_target(tmp_path / "model.safetensors")
    target.mkdir()  # say, by another program while the model trained
    saved, note = save_with_fallback(checkpoint, target)
    assert saved.parent == tmp_path and RECOVERED.fullmatch(saved.name)
    assert target.is_dir() and not any(target.iterdir())
    assert note == (f"could not write {target} ({target} is a folder, not a regular file; vae-explorer "
                    f"will not replace it), so the weights were saved to {saved} instead")
    load_checkpoint(saved)


def _failing_in(folder: Path, monkeypatch):
    real_save = outputs.save_checkpoint

    def save(checkpoint, path):
        if Path(path).is_relative_to(folder):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(checkpoint, path)

    monkeypatch.setattr(outputs, "save_checkpoint", save)


def test_when_the_target_folder_is_full_the_weights_go_to_the_user_data_folder(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    _failing_in(tmp_path / "out", monkeypatch)
    saved, note = save_with_fallback(checkpoint, tmp_path / "out" / "model.safetensors")
    assert saved.parent == outputs.recovery_folder() and RECOVERED.fullmatch(saved.name)
    assert saved.is_relative_to(tmp_path / "data")
    assert note.startswith(f"could not write {tmp_path / 'out' / 'model.safetensors'} (No space left on device), "
                           f"so the weights were saved to {saved} instead")
    load_checkpoint(saved)


def test_when_every_place_fails_nothing_is_returned_and_the_note_lists_them(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs, "recovery_folder", lambda: tmp_path / "data" / "recovered")
    _failing_in(tmp_path, monkeypatch)
    saved, note = save_with_fallback(checkpoint, tmp_path / "out" / "model.safetensors")
    assert saved is None
    assert note.startswith("could not save the weights anywhere: tried ")
    assert note.count("No space left on device") == 3
    assert str(tmp_path / "data" / "recovered") in note and "\n" not in note


def test_non_finite_weights_are_not_tried_elsewhere(tmp_path):
    import torch

    model = registry.build("mlp_vae", MLPVAEConfig(hidden_sizes=(8,), latent_dim=2), seed=0)
    with torch.no_grad():
        next(model.parameters()).fill_(float("inf"))
    saved, note = save_with_fallback(Checkpoint(model), tmp_path / "model.safetensors")
    assert saved is None and "holds NaN or infinite values" in note
    assert list(tmp_path.iterdir()) == []


def test_recovered_files_never_overwrite_each_other(checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.time, "strftime", lambda fmt: "20260101-120000")
    target = tmp_path / "model.safetensors"
    target.mkdir()
    first, _ = save_with_fallback(checkpoint, target)
    second, _ = save_with_fallback(checkpoint, target)
    assert first.name == "model.recovered-20260101-120000.safetensors"
    assert second.name == "model.recovered-20260101-120000-2.safetensors"
