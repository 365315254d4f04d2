"""Writes of the drawings app, one module per job (Django-Styleguide services)."""
