"""`python -m relaywatch.loggen`."""

from relaywatch.loggen.cli import main

raise SystemExit(main())
