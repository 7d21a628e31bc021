"""Helpers shared by tests that drive abusedesk as separate processes."""
