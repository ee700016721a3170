"""werkzeug URL rules for a set of vendors' operations, from the paths of their ``index.json``.

One builder for every place that matches a path to an operation: the server's router and
``mockattr verify`` (recorded traffic). Loaded on its own, so ``import mockattr.contract`` loads no werkzeug.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from werkzeug.routing import Map, MapAdapter, Rule

from mockattr.contract import Contract, url_rule


def vendor_hosts(contracts: Mapping[str, Contract]) -> dict[str, str]:
    """``{host: vendor id}``, lower-cased, from each vendor's ``index.json`` ``hosts``: where its real API is."""
    return {host.lower(): vendor for vendor, c in contracts.items() for host in c.index.get("hosts", [])}


def operation_routes(contracts: Mapping[str, Contract], prefix: Callable[[str], str]) -> MapAdapter:
    """A bound werkzeug map whose endpoints are ``(vendor id, operation id)``: each vendor's operations
    below ``prefix(vendor id)``, and ``(vendor id, None)`` for the vendor's endpoints the mock does not serve
    whose paths an operation's would otherwise take (index.json ``unserved``, e.g. ChartMogul's
    ``/v1/customers/search`` beside ``/v1/customers/{uuid}``). Matching reads only the path and method, so
    threads may share it."""
    rules = [
        Rule(operation.url_rule(prefix(vendor_id)), endpoint=(vendor_id, operation.id), methods=[operation.method])
        for vendor_id, contract in contracts.items()
        for operation in contract.operations.values()
    ]
    rules += [
        Rule(
            url_rule(prefix(vendor_id) + entry["path"]),
            endpoint=(vendor_id, None),
            methods=[entry["method"]],
        )
        for vendor_id, contract in contracts.items()
        for entry in contract.index.get("unserved", [])
    ]
    return Map(rules).bind("mockattr")
