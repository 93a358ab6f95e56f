from grace_tui.cli.main import main

raise SystemExit(main())
