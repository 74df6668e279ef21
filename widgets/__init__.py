"""The widget layer, installed as `portalit.widgets` (see pyproject's package-dir)."""
