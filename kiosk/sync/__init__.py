"""Everything between the kiosk and the service: the outbox (sealed,
durable queue), the client and the sync worker, the seal, the status
report, the pré-demande directory, the export, and the relay of a call for
help. The wire format itself is the shared contract, ``titres.protocol``."""
