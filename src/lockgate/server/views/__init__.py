"""Read-only views the admin API serves to scripts and the console (off the request path)."""
