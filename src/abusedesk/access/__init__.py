"""Access: who may do what — admin users, their scope (staff, a company, a domain), the audit trail.

`Role` is the stored `AdminRole`, named for the code that checks access.
"""

from __future__ import annotations

from abusedesk.store.types import AdminRole as Role

__all__ = ["Role"]
