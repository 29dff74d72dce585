"""The relaywatch subcommands, one module per area; each command calls one library function of its name."""
