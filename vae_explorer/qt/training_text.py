"""What the training panel says: durations, thread counts, and messages that leave the model in place."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def threads_text(threads: int | None) -> str:
    return f", {threads} CPU thread(s)" if threads else ""


def unchanged(message: str) -> str:
    return f"{message.rstrip('.')}. The previous model is still loaded."


def diverged_message(where: str) -> str:
    """What the panel says when the loss stopped being finite. Core's full message also says
    which weights the run kept; the panel throws those away, so it shows only where."""
    return unchanged(f"Training diverged: {where}. Try a smaller learning rate")
