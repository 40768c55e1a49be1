"""Self-service kiosk for CNI and passport applications in French town halls.

Importing this package must work on any PC: hardware libraries are imported
only inside their backend modules (see ``kiosk.hal``).
"""

__version__ = "0.1.0"
