"""The review console (server-rendered pages) and its JSON API, both on one route table."""
