"""Inkwell inference core: MNIST-style preprocessing and the digit models (no Django, no Celery)."""
