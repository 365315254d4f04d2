"""Measurement of the models: accuracy, "not a digit", numbers, explanations, augmentation ablation."""
