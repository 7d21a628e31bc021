"""One module per report format: each reads its format into a `Report`."""
