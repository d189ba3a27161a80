"""Training in one process: settings, pairs, augmentation, the training set and the shared training loop."""
