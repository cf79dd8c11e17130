"""`python -m assistant.cli` is the `askpapers` command."""

import sys

from . import main

sys.exit(main())
