"""`python -m bot` is the same as the `ssm3bot` console script."""

from bot.cli import main

raise SystemExit(main())
