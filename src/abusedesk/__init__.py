"""abusedesk: the abuse desk of an email hosting platform."""

# The one place the version is written: pyproject.toml reads it (dynamic) and
# `abusedesk --version` prints it.
__version__ = "0.1.0"
