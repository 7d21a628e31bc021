"""`python -m abusedesk` is the `abusedesk` command."""

from abusedesk.cli import main

main()
