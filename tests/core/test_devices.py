import pytest
import torch

from vae_explorer.core.devices import DeviceUnavailableError, available_devices, resolve_device


def test_cpu_is_always_available_and_auto_resolves_to_something_real():
    assert resolve_device("cpu") == torch.device("cpu")
    assert "cpu" in available_devices()
    assert resolve_device("auto").type in available_devices()


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_asking_for_missing_cuda_gives_a_clear_error():
    with pytest.raises(DeviceUnavailableError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_name_is_rejected():
    with pytest.raises(DeviceUnavailableError, match="unknown device"):
        resolve_device("tpu")
