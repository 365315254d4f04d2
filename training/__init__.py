"""Training, evaluation and fine-tuning of the Inkwell models (imports `inference`, never `webapp`)."""
