"""Keep portal secrets out of the logs: a request line for /p/<token>/ is logged as /p/…/."""

import logging
import re

TOKEN_PATH = re.compile(r"/p/[^/\s\"?]+")


class MaskPortalTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/p/" in message:
            record.msg, record.args = TOKEN_PATH.sub("/p/…", message), ()
        return True
