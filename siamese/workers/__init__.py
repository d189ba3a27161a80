"""Training on several workers: the cluster, each worker's share and step, the supervising process."""
