"""2-D maps of embeddings (t-SNE) and the class representatives chosen on them."""
