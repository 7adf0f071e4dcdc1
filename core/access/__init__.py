"""Who may use the installation and what they did: roles, API tokens, the audit log, the bind rule.

Small storage-level modules below the services: `roles` keeps the role of each signed-in user,
`tokens` the service API's bearer tokens (only a digest of each secret), `audit` appends one row
per state-changing attempt (and never changes one), `binding` decides whether an address may be
served without sign-in. Permissions per role and per token scope live with `authorize` in
`core.services.actors`; the services record every attempt through `core.services.audited`.
"""
