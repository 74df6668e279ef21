"""The one exception type for user errors: its message is a single line that names the bad input
and the valid choices. The CLI turns it into exit code 2; widgets show it instead of a traceback."""


class PortalitError(ValueError):
    pass
