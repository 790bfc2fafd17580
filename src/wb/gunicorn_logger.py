"""The logger class `wb run` hands gunicorn (`--logger-class`): its log lines carry no credentials."""
import logging

from gunicorn.glogging import Logger as GunicornLogger, SafeAtoms

from .logging_setup import RedactCredentials, redact_credentials


class RedactedAtoms(SafeAtoms):
    """The access log's fields (request line, query string, Referer, headers...) as the log format
    reads them, each redacted, then escaped as gunicorn's SafeAtoms does: only the dozen the
    format names, not all sixty of every request (each header and environ entry is one)."""

    def __init__(self, atoms):
        dict.__init__(self, atoms)

    def __getitem__(self, key):
        value = super().__getitem__(key)
        return redact_credentials(value).replace('"', '\\"') if isinstance(value, str) else value


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger (`--logger-class`) whose access-log atoms and error log carry no credentials."""

    atoms_wrapper_class = RedactedAtoms

    def setup(self, cfg):
        super().setup(cfg)
        error_log = logging.getLogger("gunicorn.error")
        if not any(isinstance(f, RedactCredentials) for f in error_log.filters):
            error_log.addFilter(RedactCredentials())
