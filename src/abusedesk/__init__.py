"""abusedesk: the abuse desk of an email hosting platform."""

__version__ = "0.1.0"
