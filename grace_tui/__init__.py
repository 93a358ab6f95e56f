"""grace-tui: a self-healing server monitor that lives in the terminal."""

import logging

__version__ = "0.1.0"

# A library logs, the program decides where it goes: `grace-tui daemon` to stderr (the journal),
# the pane to STATE/tui.log; other commands and API users see nothing unless they configure logging.
logging.getLogger(__name__).addHandler(logging.NullHandler())
