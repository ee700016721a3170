"""An OpenAPI 3.1 document assembled from the contract: for Prism, schemathesis and code generators."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from mockattr import VENDOR_IDS, __version__
from mockattr.contract import load_contract, path_parameters


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def openapi_document(vendor_ids: list[str] | None = None, prefixes: dict[str, str] | None = None) -> dict[str, Any]:
    """The vendors' operations as OpenAPI 3.1, each under its prefix (default ``/<vendor id>``; ``""``
    for a vendor served at the root). Schemas are inlined, so the document stands alone."""
    vendor_ids = vendor_ids or list(VENDOR_IDS)
    prefixes = prefixes if prefixes is not None else {vendor: f"/{vendor}" for vendor in vendor_ids}
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "mockattr: " + ", ".join(vendor_ids),
            "version": __version__,
            "description": "The contract mockattr serves, assembled from its JSON Schemas (schemas/<vendor>/).",
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "tags": [],
        "paths": {},
        "components": {"securitySchemes": {}},
    }
    for vendor in vendor_ids:
        contract = load_contract(vendor)
        index = contract.index
        document["tags"].append({"name": vendor, "description": index.get("title", vendor)})
        document["components"]["securitySchemes"][vendor] = index["auth"]["openapi"]
        for entry in index["operations"]:
            parameters = [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                for name in path_parameters(entry["path"])
            ]
            if entry.get("query"):
                query = contract.resolved(entry["query"])
                parameters += [
                    {"name": name, "in": "query", "required": name in query.get("required", []), "schema": schema}
                    for name, schema in query.get("properties", {}).items()
                ]
            operation: dict[str, Any] = {
                "operationId": f"{vendor}.{entry['id']}",
                "tags": [vendor],
                "security": [{vendor: []}],
                "parameters": parameters,
                "responses": {},
            }
            if entry.get("description"):
                operation["description"] = entry["description"]
            if entry.get("request"):
                operation["requestBody"] = {
                    "required": entry.get("empty_body") is None,
                    "content": {"application/json": {"schema": contract.resolved(entry["request"])}},
                }
            for status, ref in entry["responses"].items():
                response: dict[str, Any] = {"description": _phrase(int(status))}
                if ref:
                    response["content"] = {"application/json": {"schema": contract.resolved(ref)}}
                operation["responses"][status] = response
            path = prefixes[vendor] + entry["path"]
            document["paths"].setdefault(path, {})[entry["method"].lower()] = operation
    return document
