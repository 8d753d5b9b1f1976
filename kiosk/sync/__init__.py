"""End-of-day sync on the laptop: the wire protocol, the HTTP client and offline bundles.

The merge itself (applying pulled operations) is in :mod:`db.sync`; the protocol is
described in docs/sync.md.
"""
