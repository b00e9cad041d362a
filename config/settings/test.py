import os
from pathlib import Path

from .base import *  # noqa: F403
from .base import BASE_DIR

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests only
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# TEST_MEDIA_ROOT keeps two test runs side by side (scripts/test.sh) out of each other's files.
MEDIA_ROOT = Path(os.environ.get("TEST_MEDIA_ROOT") or BASE_DIR / "var" / "test-media")
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Texts a test sends through the default (recording) provider stay out of the demo's var/sms.
SMS_RECORD_PATH = str(MEDIA_ROOT.parent / "test-sms") if os.environ.get("TEST_MEDIA_ROOT") else str(BASE_DIR / "var" / "test-sms")
if os.environ.get("DATABASE_URL", "") == "":
    # A file, not :memory:, so that threaded tests really share one database and its locks.
    # TEST_SQLITE_PATH lets two test runs on one machine keep apart.
    test_db = os.environ.get("TEST_SQLITE_PATH") or str(BASE_DIR / "var" / "test-db.sqlite3")
    DATABASES["default"]["TEST"] = {"NAME": test_db}  # noqa: F405
