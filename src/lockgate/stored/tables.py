"""Table of lockgate.stored: one row per stored response, its body encrypted.

``blob`` is the JSON of the conversation and the response object, sealed with the content key
(``audit.content_key``); the associated data binds it to the row's id and owner, so neither a
blob moved to another row nor an owner changed in the database ever decrypts.  The migration
``0005_stored_responses`` creates the same shape; keep both in step.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, LargeBinary, String, Table

from lockgate.storage.metadata import metadata

stored_responses = Table(
    "stored_responses",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("key_id", String(64)),
    Column("team", String(200)),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),  # NULL: kept until deleted by hand
    Column("blob", LargeBinary, nullable=False),
    Index("ix_stored_responses_expires_at", "expires_at"),
)
