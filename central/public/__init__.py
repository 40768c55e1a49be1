"""What citizens reach without an account: the status page of their dossier (``/statut``)."""

from central.public.status_page import PREFIX, router

__all__ = ["PREFIX", "router"]
