import sys

from msoko.cli import main

sys.exit(main())
