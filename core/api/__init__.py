"""The service API (CONTRACTS §4): FastAPI routes over the engine's services, for trading engines.

`create_app` builds the application; `python -m core api` serves it with uvicorn. The process
owns one engine (context, job runner) for its lifetime; routes authenticate a bearer token,
check its scope, build the engine's typed requests and call `core.services`, so a token's
actions are authorised, checked and recorded exactly like the CLI's and the dashboard's.
"""
