"""The figures a side-by-side comparison lists, read from what the checkpoints recorded."""

from __future__ import annotations

from vae_explorer.core.checkpoint import load_checkpoint
from vae_explorer.core.model_figures import MISSING, figure_rows
from vae_explorer.core.resources import shipped_checkpoints_folder


def _rows(*names):
    folder = shipped_checkpoints_folder()
    return {row.name.strip(): row.values for row in figure_rows([load_checkpoint(folder / f"{n}.safetensors")
                                                                 for n in names])}


def test_a_vae_beside_its_autoencoder_shows_what_the_autoencoder_lacks():
    rows = _rows("mnist-2d", "mnist-ae-2d")
    assert rows["file"] == ("mnist-2d.safetensors", "mnist-ae-2d.safetensors")
    assert rows["test loss (nats)"] == ("137.14", "130.32")
    assert rows["reconstruction"] == ("129.83", "130.32")
    assert rows["kl"] == ("7.31", MISSING)  # no KL term, no IWAE bound, no beta for a plain autoencoder
    assert rows["IWAE log p(x)"] == ("-134.20 (k=100)", MISSING)
    assert rows["beta"] == ("1", MISSING)
    assert rows["latent"] == ("2-D", "2-D") and rows["epochs"] == ("80", "30")
    assert rows["training time"] == ("14.9 min", "249 s")


def test_beta_4_pays_reconstruction_for_a_smaller_kl():
    rows = _rows("mnist-2d", "mnist-beta4-2d")
    assert rows["beta"] == ("1", "4")
    (kl1, kl4), (rec1, rec4) = ([float(v) for v in rows[name]] for name in ("kl", "reconstruction"))
    assert kl4 < kl1 and rec4 > rec1


def test_terms_of_other_kinds_join_in_a_readable_order():
    rows = figure_rows([load_checkpoint(shipped_checkpoints_folder() / f"{n}.safetensors")
                        for n in ("mnist-vqvae", "mnist-vaegan-2d")])
    names = [row.name.strip() for row in rows]
    terms = names[names.index("test loss (nats)") + 1: names.index("IWAE log p(x)")]
    assert terms == ["reconstruction", "kl", "codebook", "commitment", "adversarial", "discriminator"]
    assert dict(zip(names, (r.values for r in rows)))["codebook"][1] == MISSING
