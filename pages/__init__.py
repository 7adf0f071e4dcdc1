"""The dashboard pages, one thin file each, run by `st.navigation` (a package so the import
contracts see them)."""
