"""Load and speed measurements of the site and of inference: tools, not part of what runs in production."""
