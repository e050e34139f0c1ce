"""``python -m aflab.cli``: the command line as a module, e.g. under ``accelerate launch -m``."""

from aflab.cli.main import main

main()
