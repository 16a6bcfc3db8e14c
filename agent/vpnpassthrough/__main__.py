import sys

if sys.argv[1:2] == ["rpcd"]:
    # rpcd runs `list` at its start and waits for it: skip the CLI's imports.
    from .rpcd import main

    sys.exit(main(sys.argv[2:]))

from .cli import main

sys.exit(main())
