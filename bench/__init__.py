"""Side-by-side benchmark of the siamese package against the original scripts and the machine's limit."""
