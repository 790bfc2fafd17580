"""The logger class `wb run` hands gunicorn (`--logger-class`): its log lines carry no credentials."""
import logging

from gunicorn.glogging import Logger as GunicornLogger

from .logging_setup import RedactCredentials, redact_credentials


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger (`--logger-class`) whose access-log atoms and error log carry no credentials."""

    def setup(self, cfg):
        super().setup(cfg)
        error_log = logging.getLogger("gunicorn.error")
        if not any(isinstance(f, RedactCredentials) for f in error_log.filters):
            error_log.addFilter(RedactCredentials())

    def atoms(self, resp, req, environ, request_time):
        """The access log's fields (request line, query string, Referer, headers...), redacted."""
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: redact_credentials(value) if isinstance(value, str) else value for name, value in atoms.items()}
