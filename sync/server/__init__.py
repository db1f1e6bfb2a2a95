"""The central server: receives inclusions from every room, detects duplicate episodes,
answers coverage lookups, serves bundle definitions, enrols and revokes devices, and
exports inclusions for the insurer (CSV) and for interoperability (FHIR R4).

Layers: `api` (HTTP routes) → services (`devices`, `inclusions`, `coverage`, `bundles`,
`feed`, `export`) → `storage` (engine, transactions, audit) → `tables`. It imports
`sync.protocol` and never `desktop`.
"""

SERVER_VERSION = "0.1.0"
