"""The ways a message leaves: email through Django's configured email backend, text messages through an
SMS provider named by settings.SMS_PROVIDER.

Every channel takes the message's stable id (the email's Message-ID, the SMS provider's idempotency key)
so that a message sent again after a crash is recognised by the receiving side as the same one. A channel
raises PermanentError when retrying cannot help (the address is refused) and TemporaryError when a later
attempt may succeed (the server is down, busy or slow); delivery.py retries or gives up accordingly."""

import fcntl
import http.client
import json
import os
import re
import smtplib
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.utils import timezone
from django.utils.module_loading import import_string


class ChannelError(Exception):
    """A send that did not happen. The message is short and holds no secret: it is stored as last_error."""


class PermanentError(ChannelError):
    """Retrying cannot help: the recipient's address is refused or the provider rejects the message."""


class TemporaryError(ChannelError):
    """The send may succeed later: the server was unreachable, slow, busy or failing."""


# ---- email -------------------------------------------------------------------------------------------


def send_email(*, to: str, subject: str, body: str, message_id: str, reply_to: str = "") -> str:
    """Send one plain-text email through the configured backend; returns the Message-ID as the reference.

    A fresh connection per message: after a failed send an SMTP connection may be half-closed, and a
    reused one would make the next, unrelated message fail too."""
    if not to or "@" not in to:
        raise PermanentError("No usable email address.")
    email = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        reply_to=[reply_to] if reply_to else None,
        # The receiving side (and our own SMTP test server) recognises a resent message by this header.
        headers={"Message-ID": message_id},
        connection=get_connection(fail_silently=False),
    )
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        # 4xx is "try again later" (greylisting, a full mailbox); only 5xx says the address is bad.
        if any(code >= 500 for code in codes):
            raise PermanentError(f"The mail server refused the address ({', '.join(map(str, codes))}).") from exc
        raise TemporaryError(f"The mail server deferred the address ({', '.join(map(str, codes))}).") from exc
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500 and isinstance(exc, smtplib.SMTPDataError):
            raise PermanentError(f"The mail server rejected the message ({exc.smtp_code}).") from exc
        raise TemporaryError(f"The mail server answered {exc.smtp_code}.") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryError(f"The mail server could not be reached: {type(exc).__name__}.") from exc
    except BadHeaderError as exc:
        raise PermanentError("The subject or an address holds a line break.") from exc
    except ValueError as exc:  # an address Django cannot encode into a header
        raise PermanentError("The email address is not valid.") from exc
    return message_id


# ---- text messages -----------------------------------------------------------------------------------


class SmsProvider(Protocol):
    """Sends one text message. `message_id` is stable across retries: a provider must not send the same
    id twice (or must pass it to a service that deduplicates on it). Returns the provider's reference."""

    def send(self, *, to: str, body: str, message_id: str) -> str: ...


def normalise_phone(raw: str) -> str:
    """Digits and a leading +, nothing else: '(555) 010-0100' → '5550100100'. Light on purpose: the
    provider knows the numbering plans; we only strip what people type around the digits."""
    raw = raw.strip()
    digits = re.sub(r"\D", "", raw)
    number = ("+" if raw.startswith("+") else "") + digits
    if not 7 <= len(digits) <= 15:
        raise PermanentError("No usable phone number.")
    return number


class RecordingSmsProvider:
    """The default: sends nothing, appends one JSON line per message to SMS_RECORD_PATH/messages.jsonl.

    Idempotent on message_id, across processes: the file is locked while it is checked and appended to,
    and a message id already in the file records nothing new. Each process remembers how far it has read
    the file, so a check reads only the lines added since the last one."""

    FILE_NAME = "messages.jsonl"
    # Per file: (bytes read so far, ids seen in them). Shared by the instances of one process.
    _seen: dict[str, tuple[int, set[str]]] = {}
    _seen_lock = threading.Lock()

    def __init__(self) -> None:
        self.path = Path(settings.SMS_RECORD_PATH) / self.FILE_NAME

    def send(self, *, to: str, body: str, message_id: str) -> str:
        number = normalise_phone(to)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = str(self.path)
        with self._seen_lock, open(self.path, "a+", encoding="utf-8") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                offset, seen = self._seen.get(key, (0, set()))
                size = os.fstat(file.fileno()).st_size
                if size < offset:  # the file was truncated or replaced: read it again
                    offset, seen = 0, set()
                file.seek(offset)
                last = ""
                for line in file:
                    last = line
                    if line.endswith("\n"):  # a torn last line (a crash mid-write) is no record
                        seen.add(_recorded_id(line))
                offset = file.tell()
                if message_id not in seen:
                    record = {"message_id": message_id, "to": number, "body": body, "at": timezone.now().isoformat()}
                    # After a torn line the record starts on a line of its own, so it stays readable.
                    lead = "\n" if last and not last.endswith("\n") else ""
                    file.seek(0, os.SEEK_END)
                    file.write(lead + json.dumps(record) + "\n")
                    file.flush()
                    os.fsync(file.fileno())
                    offset = file.tell()
                    seen.add(message_id)
                self._seen[key] = (offset, seen)
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        return f"recorded:{message_id}"


def _recorded_id(line: str) -> str:
    try:
        return str(json.loads(line)["message_id"])
    except (ValueError, KeyError, TypeError):
        return ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib turns a redirected POST into a GET without the body; a provider that redirects is misconfigured.
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


class HttpSmsProvider:
    """POSTs {"to", "from", "body"} as JSON to SMS_HTTP_URL with a bearer token and the message id as
    the Idempotency-Key (the provider sends a key once, however often we post it). A 2xx answer's JSON
    `id` is the reference; 408, 429, 5xx, timeouts and network errors are temporary, and so are 401 and
    403 (our credentials are wrong, for every message alike); any other 4xx is permanent (the provider
    rejected this message — a bad number, say — and will again)."""

    TIMEOUT_SECONDS = 10

    def __init__(self) -> None:
        self.url = settings.SMS_HTTP_URL
        if not self.url.startswith(("http://", "https://")):
            raise TemporaryError("SMS_HTTP_URL is not set to an http(s) address.")
        self.token = settings.SMS_HTTP_TOKEN
        self.sender = settings.SMS_FROM
        self.opener = urllib.request.build_opener(_NoRedirect)

    def send(self, *, to: str, body: str, message_id: str) -> str:
        payload = json.dumps({"to": normalise_phone(to), "from": self.sender, "body": body}).encode()
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
                "Idempotency-Key": message_id,
            },
        )
        try:
            with self.opener.open(request, timeout=self.TIMEOUT_SECONDS) as response:
                raw = response.read(64 * 1024)
        except urllib.error.HTTPError as exc:
            code = exc.code
            exc.close()
            if code in (408, 429) or code >= 500:
                raise TemporaryError(f"The SMS provider answered {code}.") from exc
            if code in (401, 403):
                # Our credentials, not this message: once SMS_HTTP_TOKEN is fixed the retries go through.
                raise TemporaryError(f"The SMS provider refused our credentials ({code}): check SMS_HTTP_TOKEN.") from exc
            if 300 <= code < 400:
                raise TemporaryError(f"The SMS provider redirected ({code}): check SMS_HTTP_URL.") from exc
            raise PermanentError(f"The SMS provider refused the message ({code}).") from exc
        except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, a cut-off answer
            reason = getattr(exc, "reason", exc)
            raise TemporaryError(f"The SMS provider could not be reached: {type(reason).__name__}.") from exc
        try:
            answer = json.loads(raw or b"{}")
        except ValueError:
            answer = {}
        ref = answer.get("id") if isinstance(answer, dict) else None
        # Accepted either way; without an id in the answer the message id is the only reference we have.
        return str(ref)[:200] if ref else message_id


def get_sms_provider() -> SmsProvider:
    """An instance of the provider class named by settings.SMS_PROVIDER (a dotted path)."""
    return import_string(settings.SMS_PROVIDER)()


def send_sms(*, to: str, body: str, message_id: str) -> str:
    return get_sms_provider().send(to=to, body=body, message_id=message_id)
