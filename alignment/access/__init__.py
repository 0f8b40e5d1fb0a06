"""Who may do what: principals, roles, API keys, and the audit log of their writes."""
