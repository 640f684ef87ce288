"""`python -m tteqsat.cli`: the same as the `tteqsat` command."""

import sys

from tteqsat.cli.main import main

sys.exit(main())
