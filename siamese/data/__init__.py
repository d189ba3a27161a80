"""Image datasets read-only: class folders, decoding, thermal pixel units, palettes, splits."""
