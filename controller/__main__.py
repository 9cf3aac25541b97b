"""``python -m controller`` runs the ``zsm`` command line."""

from controller.cli import main

raise SystemExit(main())
