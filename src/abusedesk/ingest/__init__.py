"""Ingest stage: reports in from SMTP, IMAP, files and stdin; raw bytes stored first."""
