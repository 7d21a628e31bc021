"""The processing queue: stored reports are claimed and run through parse → attribute → record."""
