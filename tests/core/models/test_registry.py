import pytest
import torch

from vae_explorer.core.config import ConfigError
from vae_explorer.core.models import registry
from vae_explorer.core.models.base import ExplorableModel
from vae_explorer.core.models.vae import VAEConfig


def test_kinds_are_found_by_importing_the_package():
    kinds = registry.kinds()
    assert {"vae", "autoencoder", "denoising_autoencoder", "conditional_vae"} <= set(kinds)
    assert all(issubclass(cls, ExplorableModel) and cls.kind == name and cls.title for name, cls in kinds.items())


def test_an_old_name_finds_the_kind_it_became():
    assert registry.get_kind("mlp_vae") is registry.get_kind("vae")
    assert registry.config_from_dict("mlp_vae", {"latent_dim": 3}) == VAEConfig(latent_dim=3)
    assert registry.build("mlp_vae", VAEConfig(hidden_sizes=(8,))).kind == "vae"


def test_unknown_kind_is_one_clear_error():
    with pytest.raises(ConfigError, match="unknown model kind 'gan'.*conditional_vae.*denoising_autoencoder"):
        registry.get_kind("gan")


def test_config_from_dict_checks_types_and_fields():
    config = registry.config_from_dict("vae", {"hidden_sizes": [10, 20], "latent_dim": 3})
    assert config == VAEConfig(hidden_sizes=(10, 20), latent_dim=3)
    for bad in ({"hidden_sizes": "abc"}, {"latent_dim": None}, {"latent_dims": 3}, [1, 2], "x"):
        with pytest.raises(ConfigError):
            registry.config_from_dict("vae", bad)


def test_planned_shapes_allocate_nothing_and_match_a_real_build():
    config = VAEConfig(hidden_sizes=(32,), latent_dim=2)
    shapes = registry.planned_shapes("vae", config)
    real = registry.build("vae", config)
    assert shapes == {name: tuple(t.shape) for name, t in real.state_dict().items()}


def test_a_model_too_large_to_build_is_refused_before_allocation():
    # 16,384 x 16 layers is inside each field's bounds but far past the parameter budget.
    config = VAEConfig(hidden_sizes=(16_384,) * 16, latent_dim=2)
    with pytest.raises(ConfigError, match="parameters"):
        registry.build("vae", config)


def test_building_does_not_touch_the_global_random_state():
    state = torch.random.get_rng_state()
    registry.build("vae", VAEConfig(hidden_sizes=(8,)), seed=1)
    assert torch.equal(state, torch.random.get_rng_state())
