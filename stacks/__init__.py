"""Composition of AVA OLO's stacks per environment (reads the validated configuration, uses the library)."""
