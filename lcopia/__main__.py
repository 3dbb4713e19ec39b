"""``python -m lcopia``: the command line."""

from lcopia.cli import main

raise SystemExit(main())
