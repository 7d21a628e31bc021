"""Enforcement: the Postfix policy service, the in-memory send state it answers from, metering.

`protocol` reads the Postfix policy delegation protocol, `verdict` decides one
request, `server` serves connections, `state` holds the mailboxes that may not
send and `tracking` keeps it current from the database, `metering` counts what
was sent. The can-send HTTP route (web/can_send.py) reads the same state.
"""
