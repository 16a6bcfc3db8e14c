import sys

if sys.implementation.name == "micropython":
    # MicroPython collects only when its heap is full, so before the first collection every
    # page of the launcher's 4 MiB heap becomes resident: the daemon crept from 3.4 to 5.9
    # MiB RSS in four applies, status with 10,000 flows peaked at 6.7 MiB. Collecting after
    # each 128 KiB allocated keeps what is resident near what is live.
    import gc

    if hasattr(gc, "threshold"):
        gc.threshold(128 * 1024)

if sys.argv[1:2] == ["rpcd"]:
    # rpcd runs `list` at its start and waits for it: skip the CLI's imports.
    from .rpcd import main

    sys.exit(main(sys.argv[2:]))

from .cli import main

sys.exit(main())
