"""The `grace-tui` command line. Each module here adds one group of subcommands."""
