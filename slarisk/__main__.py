"""``python -m slarisk``: the same as the ``slarisk`` command."""

from slarisk.cli import main

main()
