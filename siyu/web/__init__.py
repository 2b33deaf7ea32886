"""HTTP edge: app factory pieces, dependencies, authentication and error handling."""
