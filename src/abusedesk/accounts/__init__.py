"""The account directory: companies, domains, mailboxes and abuse contacts from the platform."""
