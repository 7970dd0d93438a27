"""Where papers come from: a Source turns one day's listing into plain PaperRecords."""

from digest.sources.base import Listing, ListingFormatError, PaperRecord, Source

__all__ = ["Listing", "ListingFormatError", "PaperRecord", "Source"]
