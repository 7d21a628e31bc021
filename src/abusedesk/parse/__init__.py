"""Parse stage: raw report bytes in, a typed `Report` out."""
