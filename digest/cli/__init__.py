"""The ``digest`` command line: one click group, one module per noun."""

from __future__ import annotations

import logging
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from digest import __version__
from digest.cli import (
    db,
    deliveries,
    fetch,
    preview,
    run,
    runs,
    send,
    send_test,
    serve,
    stats,
    subscribers,
    web,
)
from digest.errors import DigestError

log = logging.getLogger("digest")


class DigestGroup(click.Group):
    """Turns expected failures into one line on stderr and a meaningful exit code.

    Bad input: 2 (click's usage errors too, as one line instead of the usage text);
    a failure: 1; with ``--debug`` the traceback instead.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as exc:  # an option of ``digest`` itself
            raise click.exceptions.Exit(show_usage_error(exc, info_name or "digest")) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise  # ``digest subscribers`` alone: the help, as click shows it
        except click.UsageError as exc:
            ctx.exit(show_usage_error(exc, ctx.command_path))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            code, message = describe_failure(exc)
            click.echo(f"digest: error: {message}", err=True)
            ctx.exit(code)


def show_usage_error(exc: click.UsageError, command_path: str) -> int:
    """One line for a usage error, naming the command whose help explains it."""
    where = exc.ctx.command_path if exc.ctx else command_path
    click.echo(f"digest: error: {exc.format_message()} (see '{where} --help')", err=True)
    return exc.exit_code


def describe_failure(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, DigestError):
        return exc.exit_code, str(exc)
    if isinstance(exc, (SQLAlchemyError, OSError)):
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return 1, f"database or file system failure: {reason[0] if reason else type(exc).__name__}"
    log.debug("unexpected failure", exc_info=exc)
    return 1, f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs.")
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Daily digest of Hugging Face Daily Papers, filtered by keyword queries.

    Settings come from DIGEST_* environment variables and an optional .env file.

    \b
    Example:
      digest subscribers add ada@example.org -k "speculative decoding"
      digest run
      digest stats
    """
    ctx.obj = {"debug": debug}


cli.add_command(db.db)
cli.add_command(subscribers.subscribers)
cli.add_command(run.run)
cli.add_command(fetch.fetch)
cli.add_command(preview.preview)
cli.add_command(web.web)
cli.add_command(serve.serve)
cli.add_command(runs.runs)
cli.add_command(deliveries.deliveries)
cli.add_command(stats.stats)
cli.add_command(send_test.send_test)
cli.add_command(send.send)
cli.add_command(send.worker)


def main() -> None:
    cli(prog_name="digest")
