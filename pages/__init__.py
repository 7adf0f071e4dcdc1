"""The dashboard pages, one thin file each (run by `st.navigation`; a package so import contracts see them)."""
