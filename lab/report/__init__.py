"""Results of a lab session and the formats they are written in (JSON, Markdown, CSV)."""
