import pytest

from vae_explorer.core import config as cfg
from vae_explorer.core.config import ConfigError, TrainConfig, parse_hidden_sizes
from vae_explorer.core.models.vae import VAEConfig as MLPVAEConfig


def test_configs_round_trip_through_json():
    model = MLPVAEConfig(hidden_sizes=(64, 32), latent_dim=5, likelihood="gaussian", gaussian_std=0.2)
    train = TrainConfig(epochs=3, batch_size=64, learning_rate=5e-4, beta=2.0, seed=7)
    assert cfg.from_json(MLPVAEConfig, cfg.to_json(model)) == model
    assert cfg.from_json(TrainConfig, cfg.to_json(train)) == train


def test_lists_from_json_become_tuples_and_ints_become_floats_where_floats_belong():
    model = cfg.from_json(MLPVAEConfig, '{"hidden_sizes": [10, 20], "gaussian_std": 1}')
    assert model.hidden_sizes == (10, 20) and isinstance(model.gaussian_std, float)


@pytest.mark.parametrize(
    "kwargs",
    [{"epochs": 0}, {"batch_size": -5}, {"learning_rate": 0.0}, {"learning_rate": float("inf")},
     {"beta": -1.0}, {"beta": float("nan")}, {"device": "tpu"}, {"epochs": "3"}, {"seed": 1.5},
     {"num_threads": -1}, {"lr_schedule": "step"}],
)
def test_bad_train_config_is_rejected(kwargs):
    with pytest.raises(ConfigError):
        TrainConfig(**kwargs)


def test_unknown_fields_wrong_types_and_bad_json_give_config_errors():
    with pytest.raises(ConfigError, match="unknown VAEConfig fields"):
        cfg.from_json(MLPVAEConfig, '{"latent_dims": 3}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        cfg.from_json(MLPVAEConfig, "{latent")
    with pytest.raises(ConfigError, match="JSON object"):
        cfg.from_json(MLPVAEConfig, "[1, 2]")
    with pytest.raises(ConfigError, match="latent_dim must be a whole number"):
        cfg.from_json(MLPVAEConfig, '{"latent_dim": true}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        cfg.from_json(MLPVAEConfig, "[" * 100_000)


def test_one_hidden_size_parser_for_cli_and_form():
    assert parse_hidden_sizes("512,256") == (512, 256)
    assert parse_hidden_sizes(" 512, 256 ") == (512, 256)
    assert parse_hidden_sizes("64") == (64,)
    for bad in ("", "a,b", "512,-1", "0", "1.5"):
        with pytest.raises(ConfigError):
            parse_hidden_sizes(bad)
