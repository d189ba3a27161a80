"""The network: its layers and loss, TensorFlow loaded once, fast inference, embedding images."""
