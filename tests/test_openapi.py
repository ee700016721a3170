"""The OpenAPI 3.1 document: valid, served, and schemathesis finds no server error and no answer that
breaks it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from openapi_spec_validator import validate

from mockattr import VENDOR_IDS
from mockattr.contract import load_contract
from mockattr.contract.auth import vendor_client_headers
from mockattr.contract.openapi import openapi_document

SCHEMATHESIS = Path(sys.executable).with_name("st")
AUTH = {vendor: "{}: {}".format(*next(iter(vendor_client_headers(vendor, "st-key").items()))) for vendor in VENDOR_IDS}


def test_the_document_is_valid_openapi_3_1() -> None:
    document = openapi_document()
    validate(document)
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) == sum(len(load_contract(vendor).operations) for vendor in VENDOR_IDS)
    assert document["paths"]["/chartmogul/v1/customers/{uuid}/attributes/custom"]["put"]["operationId"] == (
        "chartmogul.update"
    )


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_the_cli_prints_one_vendor_at_the_root(vendor: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mockattr", "openapi", "--vendor", vendor],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    document = json.loads(result.stdout)
    validate(document)
    assert all(not path.startswith(f"/{vendor}/") for path in document["paths"])
    assert list(document["components"]["securitySchemes"]) == [vendor]


def test_the_server_serves_it_at_its_own_paths(mockattr) -> None:
    document = requests.get(mockattr.base_url + "/__mockattr/openapi.json", timeout=10).json()
    validate(document)
    assert document == openapi_document()


@pytest.mark.parametrize("vendor", VENDOR_IDS)
def test_schemathesis_finds_no_server_error_and_no_answer_off_the_schema(mockattr, vendor: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            mockattr.base_url + "/__mockattr/openapi.json",
            "--include-tag",
            vendor,
            "--header",
            AUTH[vendor],
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--max-examples",
            "5",
            "--seed",
            "1",
            "--generation-with-security-parameters",
            "false",
            "--phases",
            "examples,coverage,fuzzing",
        ],
        capture_output=True,
        cwd=tmp_path,  # schemathesis writes a cache where it runs
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
