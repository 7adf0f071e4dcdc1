"""Who may reach the engine from outside: API tokens (and, beside them, roles and the audit log)."""
