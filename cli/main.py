"""Entry point of the `forensics` command.

Each module in this package that defines a click command named ``command`` is a subcommand; modules
are found at start-up so that commands can be added without touching this file. Command modules
import the library inside the command body, which keeps ``forensics --help`` fast.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

import click

from forensics import __version__

_NOT_COMMANDS = {"main", "common", "demo"}


def _command_modules() -> list[str]:
    import cli

    return sorted(
        info.name
        for info in pkgutil.iter_modules(cli.__path__)
        if not info.name.startswith("_") and info.name not in _NOT_COMMANDS
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="forensics")
def group() -> None:
    """Tokenizer and corpus forensics.

    \b
    EXAMPLES
      forensics inspect fixtures/tokenizers/gpt2/vocab.bpe
      forensics compare A.tiktoken B/tokenizer.json
      forensics infer TOKENIZER --categories languages
    """


for _name in _command_modules():
    _module = importlib.import_module(f"cli.{_name}")
    _cmd = getattr(_module, "command", None)
    if isinstance(_cmd, click.Command):
        group.add_command(_cmd)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; user errors print one line and exit with code 2."""
    from forensics.errors import ForensicsError

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # click's own main() prints a blank line on Ctrl-C and hides the interrupt's message
        with group.make_context("forensics", args) as ctx:
            group.invoke(ctx)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except ForensicsError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:  # one line, like every other input error (a bare group shows its help)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()
            return exc.exit_code
        where = exc.ctx.command_path if exc.ctx is not None else "forensics"
        message = " ".join(exc.format_message().split()).rstrip(".")
        click.echo(f"error: {message}; see `{where} --help`", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except KeyboardInterrupt as exc:
        click.echo(f"interrupted: {exc}" if str(exc) else "interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
