"""lockgate.stored: responses kept for ``previous_response_id`` and ``GET /v1/responses/{id}``."""
