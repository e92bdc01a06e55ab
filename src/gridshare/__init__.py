"""gridshare: peer-to-peer energy trading for off-grid solar microgrids."""

__version__ = "0.1.0"
