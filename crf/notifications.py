"""Notifications: written once per key, shown in the inbox, emailed once after commit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from crf.models import Notification
from ops.outbox import outbox_enqueue

logger = logging.getLogger("trialportal.notifications")


def notification_create(
    *, key: str, kind: str, subject: str, body: str, url: str = "", recipient=None, email: str = ""
) -> Notification:
    """Return the notification with this key, creating it the first time (race-safe)."""
    try:
        with transaction.atomic():
            return Notification.objects.create(
                key=key,
                kind=kind,
                subject=subject,
                body=body,
                url=url,
                recipient=recipient,
                email=email,
            )
    except IntegrityError:
        # Another run or worker wrote it first: the unique key makes this a no-op.
        return Notification.objects.get(key=key)


class NotificationBusy(Exception):
    """Another worker is sending this e-mail right now; try again after its lease."""


def notification_email(*, notification_id: int) -> bool:
    """Email the notification unless it was emailed already; return whether this call sent it.

    Runs in a worker (crf.tasks.notification_email), never inside a request.
    """
    now = timezone.now()
    # Claim the row first: of two concurrent calls only one takes it. A claim older than the
    # lease was left by a worker killed mid-send, which sent nothing (emailed_at is still empty).
    claimed = (
        Notification.objects.filter(pk=notification_id, emailed_at__isnull=True)
        .filter(
            Q(email_claimed_at__isnull=True)
            | Q(email_claimed_at__lte=now - settings.NOTIFICATION_EMAIL_LEASE)
        )
        .update(email_claimed_at=now)
    )
    if claimed != 1:
        if Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).exists():
            raise NotificationBusy(notification_id)
        return False
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    address = _address(notification)
    if not address:
        return False
    link = f"\n\n{settings.SITE_URL.rstrip('/')}{notification.url}" if notification.url else ""
    try:
        send_mail(
            subject=f"[trialportal] {notification.subject}",
            message=notification.body + link,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except Exception:
        # Release the claim so a retry sends it.
        Notification.objects.filter(pk=notification_id).update(email_claimed_at=None)
        raise
    Notification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())
    logger.info("emailed notification=%s to=%s", notification.key, address)
    return True


def _address(notification: Notification) -> str:
    return notification.email or (notification.recipient.email if notification.recipient else "")


def notify(
    *, key: str, kind: str, subject: str, body: str, url: str = "", recipients=(), emails=()
) -> int:
    """Notify each user (inbox) and each address, once per key; return the e-mails newly owed.

    Only rows are written here, in the caller's transaction: each e-mail is owed through the
    outbox and sent by a worker after commit, so a mail server that fails never fails the save.
    """
    notifications = [
        notification_create(
            key=f"{key}:user:{user.pk}", kind=kind, subject=subject, body=body, url=url,
            recipient=user,
        )
        for user in recipients
    ] + [
        notification_create(
            key=f"{key}:email:{email}", kind=kind, subject=subject, body=body, url=url, email=email
        )
        for email in emails
    ]  # fmt: skip
    return sum(
        outbox_enqueue(
            task="crf.tasks.notification_email",
            args=[notification.pk],
            key=f"notification-email:{notification.pk}",
        )
        for notification in notifications
        if notification.emailed_at is None and _address(notification)
    )


def active_users(*, role: str | None = None, pi: bool = False):
    """Active users, of a role and/or principal investigators."""
    users = get_user_model().objects.filter(is_active=True)
    if role is not None:
        users = users.filter(groups__name=role)
    if pi:
        users = users.filter(is_principal_investigator=True)
    return users.distinct()


def unread_count(user) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
