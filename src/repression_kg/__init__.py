"""The knowledge graph of Soviet political repression in Kazakhstan, 1920s-1980s."""

__version__ = "0.1.0"
