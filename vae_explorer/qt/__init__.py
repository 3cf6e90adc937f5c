"""Qt widgets of the desktop explorer; they talk to vae_explorer.core through plain objects.

PySide6 6.12.0 has a reference-count bug that aborts the app on Python < 3.12
after enough painting; pyproject.toml keeps that version out, and
tests/qt/test_none_refcount.py checks the installed one.
"""
