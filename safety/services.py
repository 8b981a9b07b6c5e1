"""Writes of adverse events, their assessment, follow-ups, reports and stopping-rule alerts."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.access import can
from accounts.roles import Perm, Role
from crf.audit import actor_context, audit_context
from crf.notifications import active_users, notify
from crf.rules import check_rules, values_of
from crf.services import record_create, record_save, record_update
from dosing.selectors import doses_by_participant
from enrollment.models import Participant
from ops.outbox import outbox_enqueue
from safety import clocks as safety_clocks
from safety import rules, stopping
from safety.models import AdverseEvent, AeFollowUp, Outcome, SafetyReport, StoppingRuleAlert
from study import protocol


def _check_adverse_event(ae: AdverseEvent, participant: Participant) -> None:
    """The adverse-event rules, the invariant of every write of an event (create and edit)."""
    values = values_of(ae, rules.ADVERSE_EVENT_FIELDS)
    check_rules(
        rules.adverse_event_values(values, ae=ae, first_dose_date=participant.first_dose_date),
        rules.ADVERSE_EVENT_RULES,
    )


def _enqueue_side_effects(ae: AdverseEvent) -> None:
    """Owe, through the outbox, the SAE alert (for a serious event) and the stopping-rule check.

    Written in the save's transaction and sent after commit; with the broker down, beat sends them
    once it is back, so a committed AE always gets its alert and its check.
    """
    if ae.serious:
        outbox_enqueue(
            task="safety.tasks.sae_alert",
            args=[ae.pk, ae.version],
            key=f"sae-alert:{ae.pk}:v{ae.version}",
        )
    # Once per save, not per AE version: a follow-up changes the worst grade without a new version.
    outbox_enqueue(
        task="safety.tasks.stopping_rules_check",
        key=f"stopping-rules-check:ae:{ae.pk}:{uuid.uuid4().hex}",
    )


@transaction.atomic
def adverse_event_report(
    *, ae: AdverseEvent, actor, expected_version: int | None = None, reason: str = ""
) -> AdverseEvent:
    """Report (or correct) an adverse event; the investigator assesses it separately."""
    participant = Participant.objects.select_for_update(of=("self",)).get(pk=ae.participant_id)
    _check_adverse_event(ae, participant)
    if ae.pk is None:
        # AESPID: the next number of this participant, under the participant's row lock.
        last = AdverseEvent.objects.filter(participant=participant).aggregate(n=Max("number"))["n"]
        ae.number = (last or 0) + 1
        if ae.awareness_at is None:
            ae.awareness_at = timezone.now()
    ae = record_save(record=ae, actor=actor, expected_version=expected_version, reason=reason)
    _enqueue_side_effects(ae)
    return ae


@transaction.atomic
def adverse_event_assess(
    *, ae: AdverseEvent, actor, expected_version: int, reason: str = ""
) -> AdverseEvent:
    """Record the investigator's assessment: grade confirmed, causality, expectedness."""
    _check_adverse_event(ae, ae.participant)
    ae.assessed_by = actor
    ae.assessed_at = timezone.now()
    ae = record_update(
        record=ae,
        actor=actor,
        expected_version=expected_version,
        reason=reason or _("Investigator's assessment."),
    )
    _enqueue_side_effects(ae)
    return ae


@transaction.atomic
def ae_follow_up_add(*, follow_up: AeFollowUp, actor) -> AeFollowUp:
    """Record a change of grade; a grade 5 follow-up makes the outcome fatal."""
    ae = (
        AdverseEvent.objects.select_for_update(of=("self",))
        .select_related("term")
        .get(pk=follow_up.adverse_event_id)
    )
    check_rules(
        {
            **values_of(follow_up, ("grade", "on_date")),
            "term": ae.term,
            "onset_date": ae.onset_date,
        },
        rules.FOLLOW_UP_RULES,
    )
    follow_up = record_create(record=follow_up, actor=actor)
    if follow_up.grade == 5 and ae.outcome != Outcome.FATAL:
        # Death is serious by ICH E2A: the event now results in death.
        ae.outcome = Outcome.FATAL
        ae.death_date = follow_up.on_date
        ae.ongoing = False
        ae.end_date = follow_up.on_date
        ae.serious = ae.sae_death = True
        _check_adverse_event(ae, ae.participant)
        ae = record_update(
            record=ae,
            actor=actor,
            expected_version=ae.version,
            reason=_("Grade 5 follow-up: fatal outcome."),
        )
    _enqueue_side_effects(ae)
    return follow_up


@transaction.atomic
def safety_report_add(*, report: SafetyReport, actor) -> SafetyReport:
    """Record a report sent to the sponsor, ethics committee or regulator."""
    check_rules(
        {
            **values_of(report, ("kind", "follows", "sent_at")),
            "awareness_at": report.adverse_event.awareness_at,
        },
        rules.SAFETY_REPORT_RULES,
    )
    return record_create(record=report, actor=actor)


# --- Notifications --------------------------------------------------------------------------------


def sae_alert_send(*, ae_id: int, version: int) -> int:
    """Alert investigators and the safety contacts of a serious event, once per AE version."""
    ae = AdverseEvent.objects.select_related("participant", "term").get(pk=ae_id)
    if not ae.serious or ae.is_retired:
        return 0
    subject = _("SAE %(pid)s AE %(n)s: %(term)s, grade %(grade)s") % {
        "pid": ae.participant.participant_id,
        "n": ae.number,
        "term": ae.term_label,
        "grade": ae.worst_grade,
    }
    body = _(
        "A serious adverse event was saved (version %(version)s).\nParticipant: %(pid)s\n"
        "Term: %(term)s\n"
        "Onset: %(onset)s\nCriteria: %(criteria)s\nOutcome: %(outcome)s\n"
        "Initial report due within %(hours)s hours of awareness (%(aware)s)."
    ) % {
        "version": version,
        "pid": ae.participant.participant_id,
        "term": ae.term_label,
        "onset": ae.onset_date,
        "criteria": ", ".join(ae.criteria_labels),
        "outcome": ae.get_outcome_display(),
        "hours": protocol.SAE_INITIAL_REPORT_HOURS,
        "aware": timezone.localtime(ae.awareness_at).strftime("%Y-%m-%d %H:%M"),
    }
    return notify(
        key=f"sae:{ae.pk}:v{version}",
        kind="sae",
        subject=subject,
        body=body,
        url=ae.get_absolute_url(),
        recipients=active_users(role=Role.INVESTIGATOR),
        emails=protocol.SAFETY_CONTACT_EMAILS,
    )


def sae_clock_scan(*, now=None) -> int:
    """Escalate every overdue SAE or SUSAR report to the principal investigator, once per clock."""
    now = now or timezone.now()
    sent = 0
    pis = list(active_users(pi=True))
    events = (
        AdverseEvent.objects.filter(serious=True, retired_at__isnull=True)
        .select_related("participant", "term")
        .prefetch_related("reports", "follow_ups")
    )
    for ae in events:
        for clock in safety_clocks.clocks(ae, list(ae.reports.all())):
            if clock.reported_at is None and clock.overdue(now):
                sent += notify(
                    key=f"clock-overdue:{ae.pk}:{clock.code}",
                    kind="clock_overdue",
                    subject=_("Overdue: %(clock)s for %(pid)s AE %(n)s")
                    % {"clock": clock.label, "pid": ae.participant.participant_id, "n": ae.number},
                    body=_("The report was due at %(due)s and is not recorded as sent.")
                    % {"due": timezone.localtime(clock.due_at).strftime("%Y-%m-%d %H:%M")},
                    url=ae.get_absolute_url(),
                    recipients=pis,
                )
    return sent


def stopping_rules_check() -> list[StoppingRuleAlert]:
    """Evaluate the stopping rules; record each newly met one and announce it once per event."""
    events = list(
        AdverseEvent.objects.filter(retired_at__isnull=True)
        .select_related("participant", "term")
        .prefetch_related("follow_ups")
    )
    doses = {pid: list(days.values()) for pid, days in doses_by_participant().items()}
    hits_by_event: dict[str, list[stopping.RuleHit]] = {}
    for hit in stopping.evaluate(events, doses):
        hits_by_event.setdefault(hit.event_key, []).append(hit)
    new_alerts = []
    for event_key, hits in hits_by_event.items():
        new_alerts += _stopping_alerts_record(event_key=event_key, hits=hits)
    return new_alerts


@transaction.atomic
def _stopping_alerts_record(*, event_key: str, hits: list[stopping.RuleHit]):
    """Record the rules one event newly met; send each recipient one alert naming them all.

    A related death meets the death rule, "related grade 4 or higher" and the individual stop at
    once: one message lists the three. The alert rows and their notifications are written in one
    transaction, so a failed run leaves nothing half announced and its retry announces it; a
    rerun finds the alerts recorded and sends nothing. A rule the same event meets later (e.g.
    once the investigator assesses it as related) is announced then, under its own key.
    """
    new = []
    for hit in hits:
        with translation.override("en"):
            english_message = hit.message
        alert, created = StoppingRuleAlert.objects.get_or_create(
            key=hit.key,
            defaults={
                "rule": hit.rule,
                "message": english_message,
                "message_template": hit.template,
                "message_params": hit.params,
                "participant_id": hit.participant_id,
                "study_wide": hit.study_wide,
            },
        )
        if created:
            new.append((hit, alert))
    if not new:
        return []
    study_wide = any(hit.study_wide for hit, _alert in new)
    recipients = active_users(pi=True)
    if study_wide:
        recipients = recipients | active_users(role=Role.MONITOR) | active_users(role=Role.DSMB)
    if not all(hit.study_wide for hit, _alert in new):
        recipients = recipients | active_users(role=Role.INVESTIGATOR)
    # The link leads to the safety dashboard; the DSMB, who may not open it, reads the inbox.
    subject = _("Stopping rule met") if study_wide else _("Individual stopping rule met")
    body = "\n".join(hit.message for hit, _alert in new)
    rules_met = "+".join(sorted(hit.rule for hit, _alert in new))
    readers, others = [], []
    for user in recipients.distinct():
        (readers if can(user, Perm.VIEW_DATA) else others).append(user)
    for url, users in ((reverse("safety:dashboard"), readers), ("", others)):
        notify(
            key=f"stopping:{event_key}:{rules_met}",
            kind="stopping_rule",
            subject=subject,
            body=body,
            url=url,
            recipients=users,
        )
    return [alert for _hit, alert in new]


@transaction.atomic
def alert_acknowledge(*, alert: StoppingRuleAlert, actor, comment: str) -> StoppingRuleAlert:
    """An investigator acknowledges a stopping-rule alert with a comment; the banner goes."""
    comment = comment.strip()
    if not comment:
        raise ValidationError({"comment": _("Say what was decided.")}, code="required")
    with audit_context(subject=_alert_subject(alert), **actor_context(actor)):
        updated = StoppingRuleAlert.objects.filter(
            pk=alert.pk, acknowledged_at__isnull=True
        ).update(acknowledged_by=actor, acknowledged_at=timezone.now(), comment=comment)
    if updated != 1:
        raise ValidationError(_("This alert was acknowledged already."), code="already")
    alert.refresh_from_db()
    return alert


def _alert_subject(alert: StoppingRuleAlert) -> str:
    return alert.participant.participant_id if alert.participant_id else ""


def open_alerts():
    return StoppingRuleAlert.objects.filter(acknowledged_at__isnull=True).select_related(
        "participant"
    )
