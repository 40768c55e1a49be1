"""The contract the kiosk and the central service share (imports neither).

What both sides must read the same way lives here and only here: the
dossier model and its enums, the wire protocol, identifiers and number
formats, the pré-demande model, the document rules and how a document is
worded, errors, the message tables and logging. A change here is a change
of the contract between a kiosk in a mairie and the service, so it is made
once, for both.
"""
