"""Typed, frozen models of the stage and pipeline files, one module per config section (see stage.py)."""
