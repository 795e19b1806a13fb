"""``python -m lambda_legacy``."""

import sys

from lambda_legacy.cli import command

sys.exit(command())
