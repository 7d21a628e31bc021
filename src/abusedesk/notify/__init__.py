"""Notify: AUP and escalation notices — samples, recipients, Jinja templates, the outbox, delivery.

A notice is rendered and written to the outbox (`Notice`) in the transaction
of the decision that caused it; a sender claims due notices and delivers them
to the smarthost, retrying temporary failures and recording permanent ones.

What a notice (or a reseller admin's console page) shows of a report has the
complainant redacted: `complainant` finds who they are, `spellings` how their
address may be written, `redaction` takes it out.
"""
