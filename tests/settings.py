"""Test settings: the real settings, with a fast password hasher, tasks run at once, and static
files served from the source folders (no collectstatic step)."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from yulan.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# The test database is a file (not memory) so that a worker started as a separate process, as
# in the crash tests, sees the same data; one per test process, so that runs side by side do
# not share it.
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"yulan-test-{os.getpid()}.sqlite3")
    }

# Uploaded photos go to a folder of this test process's own, removed when it ends.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="yulan-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
