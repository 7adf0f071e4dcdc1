"""The engine's state-changing actions, as every entry point calls them.

The CLI, the pages, the scheduler and the HTTP API (`core.api`) call these functions and nothing below
them to train, label, retrain, trigger, cancel, activate, roll back or bring in data. Each takes
an `Actor`, checks a permission through `authorize`, checks the typed request against the store
(`core.checks`) before anything is written, records the actor's name where the store records
who (a job's `requested_by`, an activation's `actor`), and leaves one audit row per attempt
(`@audited`, in `core.services.audited`).
"""
