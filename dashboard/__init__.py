"""The Streamlit dashboard: entry point and shared UI pieces. Pages live in `pages/`."""
