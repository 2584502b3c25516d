"""Route modules, one per area; `tagent.api.app.create_app` mounts them."""
