"""Read models the routes answer with: plain JSON-ready data assembled from the engine, store and cluster."""
