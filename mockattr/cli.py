"""The ``mockattr`` command."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click
from flask import Flask

from mockattr import VENDOR_IDS, __version__
from mockattr.admin import ADMIN_PREFIX
from mockattr.app import create_app, runtime_of
from mockattr.runtime import FixtureError
from mockattr.server import base_url, bind, serve_until_stopped, stop_on_sigterm
from mockattr.tls import Certificates, generate


@click.group()
@click.version_option(__version__, prog_name="mockattr")
def main() -> None:
    """Stateful mock servers for customer custom-attribute APIs."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=12111,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one.",
)
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
    "--tls",
    is_flag=True,
    help="Speak HTTPS with a certificate from a CA generated at start; prints the CA file to trust.",
)
def serve(
    host: str, port: int, fixtures_dir: Path | None, api_keys: tuple[str, ...], vendor: str | None, tls: bool
) -> None:
    """Serve every vendor under /<vendor id> until Ctrl-C or SIGTERM.

    Each credential is its own tenant, seeded from the fixtures on first use. The admin API is under
    /__mockattr/: health, reset, state, seed, requests (the journal) and faults.
    """
    try:
        app = create_app(root_vendor=vendor, fixtures_dir=fixtures_dir, api_keys=api_keys or None)
    except (FixtureError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from err
    with tempfile.TemporaryDirectory(prefix="mockattr-tls-") as folder:
        certificates = generate(Path(folder)) if tls else None
        _serve(app, host, port, certificates)


def _serve(app: Flask, host: str, port: int, certificates: Certificates | None) -> None:
    try:
        server = bind(app, host, port, certificates.server_context() if certificates else None)
    except OSError as err:
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror or err}") from err
    stop_on_sigterm(server)
    url = base_url(server)
    runtime = runtime_of(app)
    click.echo(f"mockattr {__version__} listening on {url}")
    for vendor_id in runtime.vendors:
        click.echo(f"  {vendor_id:<20} {url}{runtime.prefix(vendor_id) or '/'}")
    if certificates:
        click.echo(f"  {'CA certificate':<20} {certificates.ca_bundle}")
    click.echo(f"  {'admin':<20} {url}{ADMIN_PREFIX}/")
    sys.stdout.flush()
    serve_until_stopped(server)
    click.echo("mockattr stopped")
