"""The web console: an adapter at the edge over the admin API (sign-in, pages, static files)."""
