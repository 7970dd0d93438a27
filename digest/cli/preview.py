"""``digest preview``: the digest a subscriber would get for a day, without sending it."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from email.message import EmailMessage
from pathlib import Path

import click

from digest.app import App
from digest.cli._context import run_with_app
from digest.cli._options import day_option
from digest.clock import yesterday
from digest.preview import Preview, preview_digest
from digest.subscriptions import normalise_email
from digest.wording import count

_FORMATS = (".html", ".eml")


def _check_output(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in _FORMATS:
        raise click.BadParameter(
            f"{value} must end in .html (the HTML part) or .eml (the whole message)"
        )
    return value


@click.command()
@click.argument("email")
@day_option("The listing day (default: yesterday, UTC). Its papers must be stored already.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    callback=_check_output,
    metavar="FILE.html|FILE.eml",
    help="Write the HTML part (.html) or the whole message (.eml) to FILE.",
)
def preview(email: str, day: dt.datetime | None, output: Path | None) -> None:
    """Show the digest EMAIL would get for a day, without sending or recording anything.

    The day's stored papers are matched against the subscriber's queries; papers
    they were already sent are left out; the rest are ranked and capped as in
    the real email. Without -o the plain-text part is printed.

    \b
    Example:
      digest preview ada@example.org --date 2026-06-12 -o digest.html
    """
    address = normalise_email(email)

    async def work(app: App) -> Preview:
        target = day.date() if day else yesterday(app.clock)
        return await preview_digest(app.db, app.composer, address, target)

    result = run_with_app(work)
    if result.message is None:
        click.echo(result.why_no_email())
        return
    if output is None:
        click.echo(_plain_text(result.message), nl=False)
        return
    data = _serialise(result.message, output.suffix.lower())
    _write_atomically(output, data)
    click.echo(
        f"wrote {output}: {count(result.papers_in_email, 'paper')} for {result.email} "
        f"on {result.day}, {len(data) / 1000:.1f} kB"
    )


def _plain_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def _serialise(message: EmailMessage, suffix: str) -> bytes:
    if suffix == ".eml":
        return message.as_bytes()
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n").encode()


def _write_atomically(path: Path, data: bytes) -> None:
    """A reader never sees half a file, and a failed write leaves the old one."""
    directory = path.parent if str(path.parent) else Path()
    fd, temp_name = tempfile.mkstemp(dir=directory, suffix=".tmp")
    umask = os.umask(0o022)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # as an ordinary new file, not mkstemp's 0600
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
