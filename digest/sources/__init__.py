"""Where papers come from: a Source turns one day's listing into plain PaperRecords."""

from digest.sources.base import Listing, ListingFormatError, PaperRecord, Source
from digest.sources.fetching import FetchError, RetryPolicy

__all__ = ["FetchError", "Listing", "ListingFormatError", "PaperRecord", "RetryPolicy", "Source"]
