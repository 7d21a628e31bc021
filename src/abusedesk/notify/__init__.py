"""Notify: AUP and escalation notices — samples, recipients, Jinja templates, the outbox, delivery.

A notice is rendered and written to the outbox (`Notice`) in the transaction
of the decision that caused it; a sender claims due notices and delivers them
to the smarthost, retrying temporary failures and recording permanent ones.
"""
