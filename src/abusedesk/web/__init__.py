"""The HTTP side: metrics and health now; the can-send API and the review console later."""
