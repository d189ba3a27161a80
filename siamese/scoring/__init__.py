"""Open-set scoring: distances, scoring rules, metrics, evaluation, probing one image, comparing runs."""
