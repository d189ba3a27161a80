"""Galleries: people enrolled in a trained run from a few images, without training again."""
