"""The local queue of sealed dossiers (the outbox) and, later, the sync client."""
