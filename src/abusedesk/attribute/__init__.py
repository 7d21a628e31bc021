"""Attribute stage: which of our mailboxes really sent a reported message."""
