"""Entry point for ``python -m siamese`` and the ``siamese`` console script."""

from siamese.cli import main


def run() -> None:
    """Run the command line and exit with its status (the console script's target)."""
    raise SystemExit(main())


if __name__ == "__main__":
    run()
