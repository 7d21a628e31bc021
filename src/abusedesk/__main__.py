"""`python -m abusedesk` is the `abusedesk` command."""

from abusedesk.cli import main

# Guarded: a worker process started by `serve` imports this module again as `__mp_main__`.
if __name__ == "__main__":
    main()
