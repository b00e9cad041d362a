"""A portal link's secret never reaches the logs: the development server's request lines and anything
else logged through the configured handlers show /p/…/ instead."""

import logging

from serviceopus.portal.logging import MaskPortalTokens


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("django.server", logging.INFO, __file__, 1, msg, args, None)


def test_a_request_line_with_a_token_is_masked():
    record = _record('"%s" %s %s', "GET /p/AbCdEf_-0123456789abcdefghijklmnopqrstuvwxyz/ HTTP/1.1", 302, 0)
    assert MaskPortalTokens().filter(record) is True
    assert record.getMessage() == '"GET /p/…/ HTTP/1.1" 302 0'


def test_other_lines_are_left_alone():
    record = _record('"%s" %s %s', "GET /portal/jobs/12/progress/ HTTP/1.1", 200, 512)
    assert MaskPortalTokens().filter(record) is True
    assert record.getMessage() == '"GET /portal/jobs/12/progress/ HTTP/1.1" 200 512'
    assert record.args == ("GET /portal/jobs/12/progress/ HTTP/1.1", 200, 512)


def test_the_configured_handlers_carry_the_filter():
    server = logging.getLogger("django.server")
    assert any(isinstance(f, MaskPortalTokens) for h in server.handlers for f in h.filters)
    assert any(isinstance(f, MaskPortalTokens) for h in logging.getLogger().handlers for f in h.filters)
