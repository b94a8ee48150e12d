"""`python -m cds_service assess FILE` is the same as the `kmt2a-cds` console script."""

import sys

from cds_service.cli import main

sys.exit(main())
