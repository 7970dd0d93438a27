"""A self-hosted daily digest of Hugging Face Daily Papers, filtered by keyword queries."""

__version__ = "0.1.0"
