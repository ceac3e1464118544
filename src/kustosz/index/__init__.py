"""The index of sources and recorded material."""
