"""Record stage: a parsed, attributed report becomes a stored complaint, counted once."""
