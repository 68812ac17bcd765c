"""Pictures of stores: QC figures (`plot`) and the self-contained HTML viewer (`view`).
Never imports torch."""
