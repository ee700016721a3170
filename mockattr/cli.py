"""The ``mockattr`` command."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import secrets
import sys
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import click
from flask import Flask

from mockattr import VENDOR_IDS, __version__
from mockattr.contract.admin_api import ADMIN_PREFIX, ADMIN_TOKEN_HEADER
from mockattr.server.app import create_app
from mockattr.server.durable import StateFileError
from mockattr.server.pipeline import REQUEST_LOG
from mockattr.server.proxy import READ_TIMEOUT, ProxySettings
from mockattr.server.runtime import runtime_of
from mockattr.server.store import DEFAULT_MAX_TENANTS
from mockattr.serving import uvicorn_server as standalone
from mockattr.serving import werkzeug_server as tls_server
from mockattr.serving.tls import Certificates, generate
from mockattr.serving.workers import serve_in_workers
from mockattr.vendors import FixtureError, VendorError

if TYPE_CHECKING:
    from mockattr.checking.junit import CheckResult

MAX_WORKERS = 256
"""``serve --workers`` at most."""
T = TypeVar("T")


log_requests_option = click.option(
    "--log-requests",
    is_flag=True,
    help="Print one plain line per vendor request to stderr: method, path, operation, status, time, violations.",
)


def _log_requests(enabled: bool) -> None:
    if enabled:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        REQUEST_LOG.addHandler(handler)
        REQUEST_LOG.setLevel(logging.INFO)
        REQUEST_LOG.propagate = False


admin_token_option = click.option(
    "--admin-token",
    envvar="MOCKATTR_ADMIN_TOKEN",
    metavar="TOKEN",
    help="Every admin call but GET /__mockattr/health needs the header X-Mockattr-Admin-Token: TOKEN (a vendor "
    "credential still reaches its own tenant). Env: MOCKATTR_ADMIN_TOKEN. Default: open on a loopback --host; "
    "on any other host a random token, printed at start.",
)


def _admin_token(host: str, token: str | None) -> str | None:
    """``token``; on a host other than loopback without one, a new random token (printed at start)."""
    if token is not None:
        if not token or not token.isascii() or not token.isprintable() or token != token.strip():
            raise click.BadParameter("must be printable ASCII, not empty (a header value)", param_hint="--admin-token")
        return token
    return None if _is_loopback(host) else secrets.token_urlsafe(24)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


host_option = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
port_option = click.option(
    "--port",
    default=12111,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
"""Where `serve` and `proxy` listen."""


@click.group()
@click.version_option(__version__, prog_name="mockattr")
def main() -> None:
    """Stateful mock servers for customer custom-attribute APIs."""


def _http_url(value: str, param: click.Parameter) -> str:
    """``value`` if it is an http(s) URL with a host, else a usage error saying so."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        example = f" (e.g. http://{value})" if "://" not in value else ""
        raise UsageLine(f"--{param.name.replace('_', '-')} {value!r} is not an http:// or https:// URL{example}")
    return value


class UsageLine(click.ClickException):
    """A usage error said in one line (click's own prints the usage block first), exit status 2."""

    exit_code = 2


@main.command()
@host_option
@port_option
@click.option(
    "--fixtures",
    "fixtures_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Folder of <vendor>.json files seeding new tenants; vendors without one use the embedded fixtures.",
)
@click.option(
    "--api-key",
    "api_keys",
    multiple=True,
    metavar="KEY",
    help="Accept only this credential (repeatable). Without it any non-empty key is accepted.",
)
@click.option(
    "--vendor",
    type=click.Choice(VENDOR_IDS),
    help="Serve only this vendor, at the root of host:port (for clients that drop a base-URL path).",
)
@click.option(
    "--max-tenants",
    default=DEFAULT_MAX_TENANTS,
    show_default=True,
    type=click.IntRange(1),
    help="Tenants (one per credential and vendor). In memory a new tenant past this drops the least "
    "recently used one; with --state-file it is refused with the vendor's 429.",
)
@click.option(
    "--state-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep every tenant's state in this SQLite file (created if missing): acknowledged writes survive "
    "a crash or kill -9 and a restart. Without it, state is in memory.",
)
@click.option(
    "--tls",
    is_flag=True,
    help="Speak HTTPS with a certificate from a CA generated at start; prints the CA file to trust.",
)
@log_requests_option
@admin_token_option
@click.option(
    "--no-journal",
    is_flag=True,
    help="Keep no journal of requests (for load tests: less work per request); GET /__mockattr/requests "
    "then answers 409.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, MAX_WORKERS),
    help="Server processes on the one port [default: 1]. More share tenants, seeds, namespaces, journal "
    "and faults through SQLite files in a temporary folder (tenants in --state-file when given), which "
    "costs more per request than one process: see README's Performance. Not with --tls.",
)
def serve(
    host: str,
    port: int,
    fixtures_dir: Path | None,
    api_keys: tuple[str, ...],
    vendor: str | None,
    max_tenants: int,
    state_file: Path | None,
    tls: bool,
    log_requests: bool,
    admin_token: str | None,
    no_journal: bool,
    workers: int | None,
) -> None:
    """Serve every vendor under /<vendor id> until Ctrl-C or SIGTERM (requests in flight are answered
    first).

    Each credential is its own tenant, seeded from the fixtures on first use, within the limits of each
    vendor's index.json. The admin API is under /__mockattr/: health, reset, state, seed, requests (the
    journal) and faults. The server is uvicorn, in one process or --workers (with --tls, werkzeug's
    threaded server, one process); a connection silent for 10 s is closed; bodies over 1 MiB are refused.
    """
    _log_requests(log_requests)
    admin_token = _admin_token(host, admin_token)
    if tls and workers not in (None, 1):
        raise click.UsageError("--tls serves from one process: leave out --workers")
    if not hasattr(os, "fork") and workers not in (None, 1):
        raise click.UsageError("--workers needs fork(), which this system does not have")
    workers = workers or 1
    with contextlib.ExitStack() as cleanup:
        shared_folder = None
        if workers > 1:
            shared_folder = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mockattr-workers-")))
        _serve(
            host,
            port,
            tls,
            workers,
            root_vendor=vendor,
            admin_token=admin_token,
            fixtures_dir=fixtures_dir,
            api_keys=api_keys or None,
            max_tenants=max_tenants,
            state_file=state_file,
            journal=not no_journal,
            shared_folder=shared_folder,
        )
    click.echo("mockattr stopped")


def _serve(host: str, port: int, tls: bool, workers: int, **settings: Any) -> None:
    """Make the app of ``settings`` (``create_app``'s) and serve it until SIGTERM or Ctrl-C."""
    try:
        app = create_app(**settings)
    except (FixtureError, VendorError, StateFileError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from err
    if not tls:
        _serve_plain(app, host, port, workers, settings.get("shared_folder"))
        return
    with tempfile.TemporaryDirectory(prefix="mockattr-tls-") as folder:  # the CA's folder goes when it stops
        certificates = generate(Path(folder))
        server = _listening(tls_server.bind, app, host, port, certificates.server_context(), drain=True)
        tls_server.stop_on_signals(server)
        _announce(app, tls_server.base_url(server), certificates)
        tls_server.serve_until_stopped(server)


def _listening(bind: Callable[..., T], app: Flask, host: str, port: int, *args: Any, **kwargs: Any) -> T:
    """``bind(app, host, port, ...)``, or a clear error when the address cannot be listened on."""
    try:
        return bind(app, host, port, *args, **kwargs)
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror or err}") from err


def _serve_plain(app: Flask, host: str, port: int, workers: int = 1, shared_folder: Path | None = None) -> None:
    """Serve ``app`` with uvicorn in ``workers`` processes until SIGTERM or Ctrl-C, announcing it once it
    listens."""
    http_server = _listening(standalone.bind, app, host, port)
    announce = lambda: _announce(app, standalone.base_url(http_server))  # noqa: E731
    if workers == 1:
        standalone.serve_until_signalled(http_server, announce)
    else:
        serve_in_workers(http_server, workers, announce, shared_folder)


def _announce(app: Flask, url: str, certificates: Certificates | None = None) -> None:
    runtime = runtime_of(app)
    click.echo(f"mockattr {'proxy ' if runtime.upstreams else ''}{__version__} listening on {url}")
    for vendor_id in runtime.vendors:
        upstream = f"  -> {runtime.upstreams[vendor_id]}" if runtime.upstreams else ""
        click.echo(f"  {vendor_id:<20} {url}{runtime.prefix(vendor_id) or '/'}{upstream}")
    if certificates:
        click.echo(f"  {'CA certificate':<20} {certificates.ca_bundle}")
    if runtime.admin_token is not None and not _given_token():
        click.echo(f"  {'admin token':<20} {runtime.admin_token}  (header {ADMIN_TOKEN_HEADER}; shown once)")
    click.echo(f"  {'admin':<20} {url}{ADMIN_PREFIX}/")
    sys.stdout.flush()


def _given_token() -> bool:
    """Whether the user chose the admin token (option or environment), so it is not printed."""
    context = click.get_current_context()
    return context.get_parameter_source("admin_token") in (
        click.core.ParameterSource.COMMANDLINE,
        click.core.ParameterSource.ENVIRONMENT,
    )


def _upstreams(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    """``--upstream VENDOR=URL`` values as ``{vendor: url}``; a bad one is a usage error."""
    upstreams: dict[str, str] = {}
    for value in values:
        vendor, sep, url = value.partition("=")
        if not sep:
            raise click.BadParameter(f"{value!r} is not VENDOR=URL, e.g. chartmogul=https://api.chartmogul.com")
        if vendor not in VENDOR_IDS:
            raise click.BadParameter(f"{vendor!r} is not a vendor; one of: {', '.join(VENDOR_IDS)}")
        if vendor in upstreams:
            raise click.BadParameter(f"{vendor} is given twice")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise click.BadParameter(f"{url!r} (for {vendor}) is not an http:// or https:// base URL")
        if parts.username is not None or parts.password is not None:
            raise click.BadParameter(
                f"the URL for {vendor} carries a user name or password: leave it out (each client's own "
                "credential header is forwarded; a secret in the URL would be printed, journaled and recorded)"
            )
        upstreams[vendor] = url
    return upstreams


@main.command()
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    required=True,
    metavar="VENDOR=URL",
    callback=_upstreams,
    help="Forward VENDOR's requests to URL, e.g. chartmogul=https://api.chartmogul.com (repeatable; URL may "
    "carry a path prefix). Only these vendors are served.",
)
@host_option
@port_option
@click.option(
    "--vendor",
    type=click.Choice(VENDOR_IDS),
    help="Serve only this vendor (it needs an --upstream), at the root of host:port.",
)
@click.option(
    "--record",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write every forwarded exchange to this HAR 1.2 file (credentials redacted); valid after each one.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False),
    help="CA file to trust for https upstreams (default: certifi's bundle, as requests uses).",
)
@click.option(
    "--timeout",
    default=READ_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds an upstream may stay silent before the client gets a 502 (connecting: 5 s).",
)
@log_requests_option
@admin_token_option
def proxy(
    upstreams: dict[str, str],
    host: str,
    port: int,
    vendor: str | None,
    record: Path | None,
    ca_bundle: str | None,
    timeout: float,
    log_requests: bool,
    admin_token: str | None,
) -> None:
    """Forward each request, unchanged, to the vendor's real API and hold both directions to the contract,
    until Ctrl-C or SIGTERM.

    Serves the URL layout of `mockattr serve`. The journal (GET /__mockattr/requests) shows per exchange
    `violations` (what the client sent that breaks the contract; sent on all the same) and `drift` (what
    the vendor answered that breaks it). An upstream that cannot be reached, refuses TLS or times out is
    the vendor's 502. Nothing is mocked: seed and state answer 409; reset
    empties the journal (the vendor's state is its own).
    """
    if vendor is not None and set(upstreams) != {vendor}:
        raise click.UsageError(f"with --vendor {vendor}, give --upstream {vendor}=URL and no other")
    _log_requests(log_requests)
    settings = ProxySettings(upstreams, ca_bundle=ca_bundle, timeout=timeout, record=record)
    try:
        app = create_app(root_vendor=vendor, proxy=settings, admin_token=_admin_token(host, admin_token))
    except OSError as err:  # the HAR file
        raise click.ClickException(f"cannot write {record}: {err.strerror or err}") from err
    try:
        _serve_plain(app, host, port)
    finally:
        forwarder = runtime_of(app).forwarder
        assert forwarder is not None
        forwarder.close()
    click.echo("mockattr proxy stopped")


@main.command()
@click.option(
    "--vendor",
    type=click.Choice(VENDOR_IDS),
    help="Only this vendor, its paths at the root (as the vendor's own API, or `serve --vendor`).",
)
def openapi(vendor: str | None) -> None:
    """Print an OpenAPI 3.1 document assembled from the schemas (what `mockattr serve` serves at
    /__mockattr/openapi.json)."""
    from mockattr.contract.openapi import openapi_document

    document = openapi_document([vendor], {vendor: ""}) if vendor else openapi_document()
    click.echo(json.dumps(document, indent=2))


@main.command()
@click.option(
    "--base-url",
    required=True,
    callback=lambda ctx, param, value: _http_url(value, param),
    help="The server to check, e.g. http://127.0.0.1:12111.",
)
@click.option(
    "--vendor",
    "vendors",
    type=click.Choice(VENDOR_IDS),
    multiple=True,
    help="Check only this vendor (repeatable). Without /__mockattr/health on the server, a single "
    "--vendor is taken to be served at the root of --base-url.",
)
@click.option(
    "--max-examples",
    default=25,
    show_default=True,
    type=click.IntRange(1),
    help="Examples per check (the state machines run half as many).",
)
@click.option("--seed", type=int, help="Hypothesis seed; without it the examples are the same on every run.")
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report.")
@click.option("--api-key", help="Send this key; default: a new key, so a fresh mockattr tenant, for each example.")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA file for an https server.")
@click.option(
    "--admin-token",
    envvar="MOCKATTR_ADMIN_TOKEN",
    metavar="TOKEN",
    help="The admin token of a `mockattr serve --admin-token` (env MOCKATTR_ADMIN_TOKEN).",
)
def check(
    base_url: str,
    vendors: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    junit: Path | None,
    api_key: str | None,
    ca_bundle: str | None,
    admin_token: str | None,
) -> None:
    """Run the contract suite against a live server; exit 1 when any check fails.

    Per operation: valid requests get a documented success status and a body that fits its schema;
    invalid ones get the vendor's error status and body and change nothing. Per vendor: a state machine
    (add, update, remove, read back) against a model. The valid requests assume the mockattr fixtures.
    On a mockattr server the run works in a namespace of its own (/__ns/check-...), removed at the end
    with its tenants and journal entries.
    """
    from mockattr.checking.checks import Suite, refused
    from mockattr.checking.junit import junit_xml
    from mockattr.checking.target import Target

    chosen = list(vendors) or list(VENDOR_IDS)
    target = Target(
        base_url,
        root_vendor=chosen[0] if len(chosen) == 1 else None,
        api_key=api_key,
        verify=ca_bundle or True,
        admin_token=admin_token,
    )
    try:
        problem = target.problem or next(filter(None, (refused(target, vendor) for vendor in chosen)), None)
        if problem:
            raise click.ClickException(problem)
        suite = Suite(target, chosen, max_examples, seed)

        def progress(result: CheckResult) -> None:
            mark = click.style("FAIL", fg="red") if result.failure else click.style("ok  ", fg="green")
            click.echo(f"{mark} {result.name} ({result.seconds:.1f}s)")

        results = suite.run(progress)
    finally:
        target.close()
    failures = [r for r in results if r.failure]
    for result in failures:
        click.echo(f"\n{click.style('FAILED', fg='red')} {result.name}\n{result.failure}")
    click.echo(f"\n{len(results) - len(failures)} passed, {len(failures)} failed")
    if junit:
        junit.write_text(junit_xml(results), encoding="utf-8")
    sys.exit(1 if failures else 0)


@main.command()
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--vendor",
    type=click.Choice(VENDOR_IDS),
    help="The recordings' paths are this vendor's, at the root (as the vendor's own API, or `serve --vendor`), "
    "whatever the host.",
)
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), help="Also write a JUnit XML report.")
def verify(recordings: tuple[Path, ...], vendor: str | None, junit: Path | None) -> None:
    """Check recorded traffic against the contract, offline: HAR 1.2 files and VCR cassettes (vcrpy,
    go-vcr or Ruby VCR, YAML or JSON). A folder means every .har, .json, .yml and .yaml file below it; files there
    that are neither HAR nor VCR (other JSON or YAML) are passed over.

    Each exchange is matched to a vendor operation by host (each index.json's "hosts") or by mockattr's
    /<vendor id>/ paths on any host, then its request body (when the answer is a 2xx), its status and its
    response body are checked at the vendor's level. Exchanges no operation serves are skipped.
    Exit 0 when all fit, 1 on any mismatch, 2 when a file cannot be read.
    """
    from mockattr.checking.junit import junit_xml
    from mockattr.checking.recordings import RecordingError, read_recordings
    from mockattr.checking.verify import verify as verify_exchanges
    from mockattr.contract import load_contract

    try:
        exchanges = read_recordings(recordings)
    except RecordingError as err:
        click.echo(f"Error: {err}", err=True)
        sys.exit(2)
    verdicts = verify_exchanges(exchanges, {v: load_contract(v) for v in VENDOR_IDS}, vendor)
    for verdict in verdicts:
        if verdict.skipped:
            click.echo(f"{click.style('skip', fg='yellow')} {verdict.label}  {verdict.exchange.where}")
            click.echo(f"     {verdict.skipped}")
        elif verdict.mismatches:
            click.echo(f"{click.style('FAIL', fg='red')} {verdict.label}  {verdict.exchange.where}")
            click.echo("".join(f"     {mismatch}\n" for mismatch in verdict.mismatches), nl=False)
        else:
            click.echo(f"{click.style('ok  ', fg='green')} {verdict.label}  {verdict.exchange.where}")
            if verdict.note:
                click.echo(f"     {verdict.note}")
    failed = sum(1 for v in verdicts if v.mismatches)
    skipped = sum(1 for v in verdicts if v.skipped)
    click.echo(
        f"\n{len(verdicts)} exchanges: {len(verdicts) - failed - skipped} ok, {failed} failed, {skipped} skipped"
    )
    if junit:
        junit.write_text(
            junit_xml([v.result() for v in verdicts], "mockattr verify", "mockattr.verify"), encoding="utf-8"
        )
    sys.exit(1 if failed else 0)
