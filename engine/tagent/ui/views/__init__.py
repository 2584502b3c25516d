"""The dashboard pages, one Streamlit script each (run by `tagent.ui.app` through st.navigation)."""
