"""One router per area of the API; `core.api.app` includes them all."""
