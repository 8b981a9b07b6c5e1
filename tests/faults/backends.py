"""Mail backends that fail on purpose: one that raises, one that hangs until its worker is killed."""

from __future__ import annotations

import os
import smtplib
import time
from pathlib import Path

from django.core.mail.backends.locmem import EmailBackend as LocmemBackend


class FlakyBackend(LocmemBackend):
    """Raise like an unreachable SMTP server while `failing` is set; deliver to mail.outbox after."""

    failing = True

    def send_messages(self, messages):
        if type(self).failing:
            raise smtplib.SMTPConnectError(421, "mail server unreachable")
        return super().send_messages(messages)


class HangingBackend(LocmemBackend):
    """Announce the send in a file named by FAULT_STARTED_FILE, then never return."""

    def send_messages(self, messages):
        Path(os.environ["FAULT_STARTED_FILE"]).write_text("sending")
        while True:
            time.sleep(1)
