"""The central service: pré-demandes for kiosks, dossier ingest, the agents' console, the fleet view."""

__version__ = "0.1.0"
