"""``python -m gilviz`` is the ``gilviz`` command."""

import sys

from .cli import main

sys.exit(main())
