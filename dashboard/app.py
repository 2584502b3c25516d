"""Launcher: `streamlit run dashboard/app.py` runs the dashboard packaged in `tagent.ui` (see its README)."""

from tagent.ui.app import main

main()
