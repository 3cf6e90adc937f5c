"""The figures of two models as table rows: what a side-by-side comparison lists.

Everything comes from what a checkpoint records (its kind, its configs, the
metrics its training run measured on the test split), so comparing costs no
evaluation. A figure one model lacks (an autoencoder has no KL and no IWAE
bound) shows as "–".
"""

from __future__ import annotations

from dataclasses import dataclass

MISSING = "–"
# Loss terms in the order a reader expects them; others follow by name.
TERM_ORDER = ("reconstruction", "kl", "codebook", "commitment", "adversarial", "discriminator")


@dataclass(frozen=True)
class FigureRow:
    name: str
    values: tuple[str, ...]  # one text per model
    tip: str = ""


def _terms(metrics: dict) -> list[str]:
    names = [key[len("test_"):] for key in metrics if key.startswith("test_")]
    names = [n for n in names if n not in ("loss", "iwae_log_likelihood")]
    return sorted(names, key=lambda n: (TERM_ORDER.index(n) if n in TERM_ORDER else len(TERM_ORDER), n))


def _nats(value) -> str:
    return f"{float(value):.2f}" if isinstance(value, (int, float)) else MISSING


def _seconds(value) -> str:
    if not isinstance(value, (int, float)):
        return MISSING
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def figure_rows(checkpoints) -> list[FigureRow]:
    """Rows (name, one value per checkpoint) for the checkpoints' kind, size and test figures."""
    metrics = [dict(c.metrics or {}) for c in checkpoints]
    rows = [
        FigureRow("file", tuple(c.path.name if c.path else "trained in this session" for c in checkpoints)),
        FigureRow("kind", tuple(c.model.describe() for c in checkpoints)),
        FigureRow("latent", tuple(f"{c.model.latent_dim}-D" for c in checkpoints)),
        FigureRow("dataset", tuple(str(c.dataset) for c in checkpoints)),
        FigureRow("test loss (nats)", tuple(_nats(m.get("test_loss")) for m in metrics),
                  "The training objective on the test split, nats per image; kinds with other terms are "
                  "not on one scale"),
    ]
    seen = []
    for m in metrics:
        seen += [t for t in _terms(m) if t not in seen]
    seen.sort(key=lambda n: (TERM_ORDER.index(n) if n in TERM_ORDER else len(TERM_ORDER), n))
    rows += [FigureRow(f"  {name}", tuple(_nats(m.get(f"test_{name}")) for m in metrics)) for name in seen]
    rows += [
        FigureRow("IWAE log p(x)", tuple(
            f"{_nats(m.get('test_iwae_log_likelihood'))} (k={m['iwae_k']})" if "iwae_k" in m else MISSING
            for m in metrics), "Importance-weighted bound on the test log-likelihood: higher is better"),
        FigureRow("beta", tuple(_beta(c) for c in checkpoints), "Weight of the KL term in training"),
        FigureRow("epochs", tuple(str(m.get("epochs_completed", MISSING)) for m in metrics)),
        FigureRow("training time", tuple(_seconds(m.get("train_seconds")) for m in metrics),
                  "Wall-clock time of the run that made the model, on the machine that trained it"),
    ]
    return rows


def _beta(checkpoint) -> str:
    training = getattr(checkpoint, "train_config", None)
    beta = getattr(training, "beta", None)
    return MISSING if beta is None or not checkpoint.model.has_posterior else f"{beta:g}"
