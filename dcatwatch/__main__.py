"""Allow ``python -m dcatwatch``."""

from dcatwatch.cli import main

raise SystemExit(main())
