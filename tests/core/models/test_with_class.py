"""A conditional model with its class bound behaves as an unconditional one for the tools."""

import numpy as np
import torch

from vae_explorer.core import imputation as imp
from vae_explorer.core.checkpoint import Checkpoint
from vae_explorer.core.models import registry
from vae_explorer.core.models.base import WithClass
from vae_explorer.core.session import ExplorerSession


def cvae():
    kind = registry.get_kind("conditional_vae")
    return registry.build("conditional_vae", kind.Config(hidden_sizes=(16,)), seed=0).eval()


def test_the_bound_class_reaches_every_call():
    model = cvae()
    bound = WithClass(model, 4)
    assert not bound.is_conditional and bound.has_posterior and bound.latent_dim == 2
    z = torch.randn(3, 2)
    x = torch.rand(3, 784)
    fours = torch.full((3,), 4)
    with torch.no_grad():
        torch.testing.assert_close(bound.decode(z), model.decode(z, fours))
        torch.testing.assert_close(bound.encode(x).mean, model.encode(x, fours).mean)
        torch.testing.assert_close(bound.likelihood(z).mean, model.likelihood(z, fours).mean)
        assert not torch.allclose(bound.decode(z), model.decode(z, torch.full((3,), 5)))


def test_imputation_runs_on_a_conditional_model_through_the_session(bundled_test_set):
    session = ExplorerSession.create(Checkpoint(model=cvae()), bundled_test_set.subset(50))
    session.condition = int(session.labels[0])
    model = session.decoding_model
    assert imp.grid_unavailable(model) is None
    mask = imp.preset_mask("Middle rows", model.image_shape)
    steps = list(imp.iterative_imputation(model, session.image(0), mask, steps=3))
    assert len(steps) == 3 and steps[-1].z.shape == (2,)
    observed = ~mask.reshape(session.image(0).shape)
    np.testing.assert_array_equal(steps[-1].image[observed], session.image(0)[observed])
