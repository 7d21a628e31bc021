"""Act: carry out what the rules decided — suspend, escalate, hand notices to the outbox."""
