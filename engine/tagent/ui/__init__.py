"""tagent.ui: the Streamlit dashboard. It talks to the engine only over HTTP, through `tagent.ui.client`.

Run it with `tagent dashboard --api URL` (or `streamlit run dashboard/app.py`). It is outside the engine's
layers on purpose: it imports nothing from the engine, so the same code works on a laptop against
`tagent demo` and in the cluster against the engine's Service.
"""
