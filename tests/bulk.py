"""A realistic trial of any size in seconds: bulk inserts for query-count tests and benchmarks.

`fill_trial(count)` enrolls `count` participants whose first doses are spread over about two
years (so only a few are due on any one day), each with screening, consent and identity, a medical
history and concomitant medications, the 14 dose records (a few missed), the visits due so far
with their CRFs and laboratory results, adverse events (some serious, with their reports), data
queries, source data verifications and, on some visits, a signature. A few screens failed, a few
participants left the study.

Rows go in with `bulk_create`, so the services' side effects (notifications, edit-check queries)
do not run; the audit triggers do. The schedule is whatever the services derive from these rows:
if it becomes a maintained table, fill it here, in `_derived`, and every user of this module
follows.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from crf.models import DataQuery, QueryAction, QueryStep, Signature, SignatureMeaning, Verification
from crf.monitoring import records_sha256
from crf.schedule import Anchor, date_of_study_day
from dosing.models import DoseRecord
from enrollment.models import (
    Consent,
    Identity,
    MedicalHistory,
    Participant,
    ProtocolDeviation,
    Screening,
    StudyExit,
)
from outcomes.models import (
    ConMed,
    HrctScore,
    LabResult,
    Oxygenation,
    PulmonaryFunction,
    SixMinuteWalk,
    Survival,
    Visit,
    VitalSigns,
)
from safety.models import AdverseEvent, AeFollowUp, CtcaeTerm, SafetyReport
from study import protocol
from tests.factories import screening_answers

BATCH = 2000
# First doses fall within this many days before today (a few participants are still to start).
SPREAD_DAYS = 730
# Analytes recorded at a visit with laboratory results.
ANALYTES = ("ferritin", "crp", "kl6")
AE_TERMS = ("Cough", "Fever", "Dyspnea", "Hypoxia", "Fatigue", "Headache")


def fill_trial(count: int, *, actor=None, today: dt.date | None = None, seed: int = 0):
    """Insert a trial of `count` participants; return them (numbered after any already there)."""
    with transaction.atomic():
        return _Filler(count, actor=actor, today=today, seed=seed).fill()


def _event_models(model) -> list:
    """The audit event model of `model` that records an insert, if it is audited."""
    event_model = getattr(model, "pgh_event_models", {}).get("insert")
    return [event_model] if event_model is not None else []


class _Filler:
    def __init__(self, count: int, *, actor, today: dt.date | None, seed: int):
        self.count = count
        self.today = today or timezone.localdate()
        self.rng = random.Random(seed)
        if actor is None:
            actor, _created = get_user_model().objects.get_or_create(
                username="bulk-filler", defaults={"email": "bulk-filler@example.org"}
            )
        self.actor = actor
        self.stamp = {"created_by": actor, "updated_by": actor}

    # --- helpers ----------------------------------------------------------------------------------

    def _create(self, model, rows: list) -> list:
        created = model.objects.bulk_create(rows, batch_size=BATCH)
        self.created.setdefault(model, []).extend(row.pk for row in created)
        return created

    def _audit_events(self) -> None:
        """One insert event per row, written set-wise as the audit trigger would have."""
        with connection.cursor() as cursor:
            for model, pks in self.created.items():
                for event_model in _event_models(model):
                    columns = [
                        f.column
                        for f in event_model._meta.concrete_fields
                        if not f.column.startswith("pgh_")
                    ]
                    names = ", ".join(f'"{c}"' for c in columns)
                    cursor.execute(
                        f'INSERT INTO "{event_model._meta.db_table}" ({names}, "pgh_created_at", '
                        f'"pgh_label", "pgh_obj_id") SELECT {names}, NOW(), %s, "id" '
                        f'FROM "{model._meta.db_table}" WHERE "id" = ANY(%s)',
                        ["insert", pks],
                    )

    def _at(self, day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))

    def _screening(self, first_dose: dt.date, *, eligible: bool) -> Screening:
        # The factory's answers are dated around today; move them to before this first dose.
        shift = first_dose - self.today - dt.timedelta(days=1)
        answers = {
            name: value + shift if isinstance(value, dt.date) else value
            for name, value in screening_answers().items()
        }
        answers["sex"] = self.rng.choice("FM")
        answers["date_of_birth"] -= dt.timedelta(days=self.rng.randrange(0, 25 * 365))
        if not eligible:
            answers.update(mda5_result="negative", mda5_titre="neg")
            return Screening(**answers, eligible=False, failure_reasons=["mda5_negative"])
        return Screening(**answers, eligible=True, **self.stamp)

    # --- the trial ----------------------------------------------------------------------------

    def fill(self) -> list[Participant]:
        # Row-by-row triggers (audit, lock checks, foreign keys) make a large fill take minutes:
        # they are off while the rows go in, and the audit events are written set-wise after.
        # The rows are consistent by construction.
        self.created: dict[type, list[int]] = {}
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            participants = self._fill()
            self._audit_events()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = origin")
        return participants

    def _fill(self) -> list[Participant]:
        start = (Participant.objects.aggregate(n=Max("number"))["n"] or 0) + 1
        offsets = [round(n * (SPREAD_DAYS + 3) / max(self.count, 1)) - 3 for n in range(self.count)]
        if self.count > 1:
            offsets[1] = min(offsets[1], 5)  # one is mid-dosing at any size: daily pages have rows
        first_doses = [self.today - dt.timedelta(days=offset) for offset in offsets]
        failed = [
            self._screening(
                self.today - dt.timedelta(days=self.rng.randrange(SPREAD_DAYS)), eligible=False
            )
            for _ in range(max(1, self.count // 10))
        ]
        for screening in failed:
            screening.created_by = screening.updated_by = self.actor
        self._create(Screening, failed)
        screenings = self._create(
            Screening, [self._screening(day, eligible=True) for day in first_doses]
        )
        self._create(
            Consent,
            [
                Consent(
                    screening=s,
                    form_version="2.1",
                    consented_at=self._at(s.screening_date - dt.timedelta(days=1), 9, 30),
                    obtained_by=self.actor,
                    **self.stamp,
                )
                for s in screenings
            ],
        )
        self._create(
            Identity,
            [
                Identity(
                    screening=s,
                    full_name=f"Bulk Person {start + n}",
                    hospital_record_number=f"HRN-B{start + n:06d}",
                    **self.stamp,
                )
                for n, s in enumerate(screenings)
            ],
        )
        participants = self._create(
            Participant,
            [
                Participant(
                    participant_id=protocol.PARTICIPANT_ID_FORMAT.format(number=start + n),
                    number=start + n,
                    screening=s,
                    enrollment_date=s.screening_date,
                    planned_first_dose=first_doses[n],
                    first_dose_date=first_doses[n] if first_doses[n] <= self.today else None,
                    **self.stamp,
                )
                for n, s in enumerate(screenings)
            ],
        )
        for participant, screening in zip(participants, screenings, strict=True):
            participant.screening = screening
        self._history_and_conmeds(participants)
        self._doses(participants)
        visits = self._visits(participants)
        self._crfs(visits)
        aes = self._adverse_events(participants)
        self._exits(participants)
        self._monitoring(participants, visits, aes)
        self._derived(participants)
        return participants

    def _history_and_conmeds(self, participants: list[Participant]) -> None:
        self._create(
            MedicalHistory,
            [
                MedicalHistory(
                    participant=p,
                    term="Type 2 diabetes mellitus",
                    start_date=f"{p.enrollment_date.year - 6}-05",
                    ongoing=True,
                    **self.stamp,
                )
                for p in participants
                if self.rng.random() < 0.5
            ],
        )
        rows = []
        for p in participants:
            rows.append(
                ConMed(
                    participant=p,
                    drug="Methylprednisolone",
                    glucocorticoid="methylprednisolone",
                    dose=Decimal(40),
                    route="IV",
                    frequency="qd",
                    start_date=p.enrollment_date - dt.timedelta(days=10),
                    stop_date=p.enrollment_date + dt.timedelta(days=20),
                    indication="RP-ILD",
                    **self.stamp,
                )
            )
            if self.rng.random() < 0.6:
                rows.append(
                    ConMed(
                        participant=p,
                        drug="Tacrolimus",
                        dose=Decimal("1.5"),
                        route="oral",
                        frequency="bid",
                        start_date=p.enrollment_date - dt.timedelta(days=5),
                        indication="RP-ILD",
                        **self.stamp,
                    )
                )
        self._create(ConMed, rows)

    def _doses(self, participants: list[Participant]) -> None:
        rows = []
        for p in participants:
            if p.first_dose_date is None:
                continue
            for day in range(1, protocol.DOSING_DAYS + 1):
                on = date_of_study_day(p.first_dose_date, day)
                # Today's dose is often still to record; later days are still to come.
                if on > self.today or (on == self.today and self.rng.random() < 0.6):
                    break
                missed = self.rng.random() < 0.04
                pre = self.rng.randrange(90, 98)
                rows.append(
                    DoseRecord(
                        participant=p,
                        study_day=day,
                        dose_date=on,
                        given="no" if missed else "yes",
                        not_given_reason="intolerance" if missed else "",
                        start_time=None if missed else dt.time(9),
                        end_time=None if missed else dt.time(9, 20),
                        dose_particles=None if missed else protocol.DOSE_PARTICLES_DEFAULT,
                        volume_ml=None if missed else Decimal("3.0"),
                        nebulizer_type="mesh",
                        pre_spo2=None if missed else pre,
                        post_spo2=None if missed else pre - self.rng.randrange(0, 3),
                        pre_hr=None if missed else self.rng.randrange(70, 110),
                        **self.stamp,
                    )
                )
        self._create(DoseRecord, rows)

    def _visits(self, participants: list[Participant]) -> list[Visit]:
        rows = []
        for p in participants:
            if p.first_dose_date is None:
                continue
            last_dose = date_of_study_day(p.first_dose_date, protocol.DOSING_DAYS)
            for visit_def in protocol.VISITS:
                if visit_def.anchor == Anchor.LAST_DOSE:
                    target = last_dose + dt.timedelta(days=visit_def.offset)
                else:
                    target = date_of_study_day(p.first_dose_date, visit_def.offset)
                if target > self.today:
                    break
                if self.rng.random() < 0.05:  # a missed (overdue) visit
                    continue
                rows.append(
                    Visit(participant=p, code=visit_def.code, visit_date=target, **self.stamp)
                )
        return self._create(Visit, rows)

    def _crfs(self, visits: list[Visit]) -> None:
        rows: dict[type, list] = {
            model: []
            for model in (
                VitalSigns,
                Oxygenation,
                PulmonaryFunction,
                SixMinuteWalk,
                HrctScore,
                Survival,
                LabResult,
            )
        }
        for visit in visits:
            forms = set(visit.required_forms)
            f = self.rng.random()
            if "vitals" in forms:
                rows[VitalSigns].append(
                    VitalSigns(
                        visit=visit,
                        temperature=Decimal("36.8"),
                        heart_rate=round(100 - 15 * f),
                        resp_rate=round(24 - 6 * f),
                        sbp=110 + self.rng.randrange(30),
                        dbp=76,
                        spo2=round(90 + 6 * f),
                        weight=Decimal(55 + self.rng.randrange(25)),
                        height=Decimal(163),
                        **self.stamp,
                    )
                )
            if "oxygenation" in forms:
                rows[Oxygenation].append(
                    Oxygenation(
                        visit=visit,
                        sampled_at=dt.time(7, 30),
                        o2_device="nasal_cannula",
                        o2_flow=Decimal(3),
                        fio2=Decimal("0.33"),
                        fio2_source="estimated",
                        pao2=round(50 + 40 * f),
                        paco2=36,
                        ph=Decimal("7.44"),
                        spo2=round(90 + 6 * f),
                        **self.stamp,
                    )
                )
            if "pft" in forms:
                rows[PulmonaryFunction].append(
                    PulmonaryFunction(
                        visit=visit,
                        done=True,
                        fvc_l=Decimal("2.10"),
                        fvc_pct=round(55 + 30 * f),
                        fev1_l=Decimal("1.80"),
                        fev1_pct=round(60 + 30 * f),
                        dlco_pct=round(40 + 30 * f),
                        reference_equation="GLI 2012",
                        **self.stamp,
                    )
                )
            if "6mwt" in forms:
                rows[SixMinuteWalk].append(
                    SixMinuteWalk(
                        visit=visit,
                        done=True,
                        distance_m=round(240 + 200 * f),
                        spo2_pre=94,
                        spo2_nadir=88,
                        hr_pre=92,
                        hr_post=124,
                        borg_dyspnoea=4,
                        borg_fatigue=3,
                        **self.stamp,
                    )
                )
            if "hrct" in forms:
                gg = max(0, min(5, round(3 - 2 * f)))
                rows[HrctScore].append(
                    HrctScore(
                        visit=visit,
                        scan_date=visit.visit_date,
                        reader="Dr Lin (radiology)",
                        blinded=True,
                        dominant_pattern="nsip_op",
                        **{f"gg_{lobe}": gg for lobe in protocol.HRCT_LOBES},
                        **{f"cons_{lobe}": max(0, gg - 1) for lobe in protocol.HRCT_LOBES},
                        **{f"fib_{lobe}": 1 for lobe in protocol.HRCT_LOBES},
                        **self.stamp,
                    )
                )
            if "survival" in forms:
                rows[Survival].append(
                    Survival(visit=visit, vital_status="alive", support="room_air", **self.stamp)
                )
            if "labs" in forms:
                for code in ANALYTES:
                    analyte = protocol.LABS[code]
                    low, high = analyte.normal
                    rows[LabResult].append(
                        LabResult(
                            visit=visit,
                            analyte=code,
                            value=Decimal(str(round(high * (0.5 + 2 * f), 2))),
                            unit=analyte.unit,
                            normal_low=None if low is None else Decimal(str(low)),
                            normal_high=None if high is None else Decimal(str(high)),
                            **self.stamp,
                        )
                    )
        for model, model_rows in rows.items():
            self._create(model, model_rows)

    def _adverse_events(self, participants: list[Participant]) -> list[AdverseEvent]:
        terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in=AE_TERMS)}
        names = sorted(terms)
        aes = []
        for p in participants:
            if p.first_dose_date is None:
                continue
            for number in range(1, self.rng.choice((0, 1, 1, 2, 3)) + 1):
                onset = p.first_dose_date + dt.timedelta(days=self.rng.randrange(0, 30))
                if onset > self.today:
                    continue
                serious = self.rng.random() < 0.1
                ended = onset + dt.timedelta(days=5) <= self.today and self.rng.random() < 0.7
                term = terms[self.rng.choice(names)]
                assessed = self.rng.random() < 0.8
                aes.append(
                    AdverseEvent(
                        participant=p,
                        number=number,
                        verbatim_term=term.term.lower(),
                        term=term,
                        onset_date=onset,
                        grade=3 if serious else self.rng.choice((1, 1, 2)),
                        serious=serious,
                        sae_hospitalisation=serious,
                        action_taken="interrupted" if serious else "none",
                        outcome="recovered" if ended else "recovering",
                        ongoing=not ended,
                        end_date=onset + dt.timedelta(days=5) if ended else None,
                        awareness_at=self._at(onset, 11),
                        rel_study_drug="possibly" if assessed else "",
                        rel_background="possibly_not" if assessed else "",
                        expected=True if assessed else None,
                        ib_version="3.0" if assessed else "",
                        assessed_by=self.actor if assessed else None,
                        assessed_at=self._at(onset, 15) if assessed else None,
                        **self.stamp,
                    )
                )
        aes = self._create(AdverseEvent, aes)
        self._create(
            SafetyReport,
            [
                SafetyReport(
                    adverse_event=ae,
                    kind="initial",
                    sent_at=self._at(ae.onset_date, 16),
                    sent_to="sponsor, ethics committee",
                    **self.stamp,
                )
                for ae in aes
                if ae.serious
            ],
        )
        self._create(
            AeFollowUp,
            [
                AeFollowUp(
                    adverse_event=ae,
                    on_date=ae.onset_date + dt.timedelta(days=2),
                    grade=max(1, ae.grade - 1),
                    note="improving",
                    **self.stamp,
                )
                for ae in aes
                if ae.serious and ae.onset_date + dt.timedelta(days=2) <= self.today
            ],
        )
        return aes

    def _exits(self, participants: list[Participant]) -> None:
        rows = []
        for p in participants:
            if p.first_dose_date is None:
                continue
            end = p.first_dose_date + dt.timedelta(days=365 + 30)
            if end <= self.today:
                rows.append(StudyExit(participant=p, kind="completed", exit_date=end, **self.stamp))
            elif self.rng.random() < 0.03:
                rows.append(
                    StudyExit(
                        participant=p,
                        kind="withdrawn",
                        exit_date=min(self.today, p.first_dose_date + dt.timedelta(days=20)),
                        decided_by="participant",
                        reason="declined further visits",
                        followup_permitted=False,
                        **self.stamp,
                    )
                )
        self._create(StudyExit, rows)
        self._create(
            ProtocolDeviation,
            [
                ProtocolDeviation(
                    participant=p,
                    category="dosing",
                    severity="minor",
                    occurred_on=p.first_dose_date,
                    description="Dose given 40 minutes late.",
                    **self.stamp,
                )
                for p in participants
                if p.first_dose_date is not None and self.rng.random() < 0.05
            ],
        )

    def _monitoring(self, participants, visits, aes) -> None:
        vitals = list(
            VitalSigns.objects.filter(visit__in=visits).select_related("visit__participant")
        )
        doses = list(
            DoseRecord.objects.filter(participant__in=participants).select_related("participant")
        )
        vitals_type = ContentType.objects.get_for_model(VitalSigns)
        queries = self._create(
            DataQuery,
            [
                DataQuery(
                    content_type=vitals_type,
                    object_id=v.pk,
                    field_name="sbp",
                    subject=v.visit.participant.participant_id,
                    state=self.rng.choice(("open", "open", "answered", "closed")),
                    opened_by=self.actor,
                )
                for v in vitals
                if self.rng.random() < 0.05
            ],
        )
        self._create(
            QueryStep,
            [
                QueryStep(
                    query=q, action=QueryAction.OPEN, text="Source says otherwise?", by=self.actor
                )
                for q in queries
            ],
        )
        verified = []
        for records, subject in (
            (vitals, lambda v: v.visit.participant.participant_id),
            (doses, lambda d: d.participant.participant_id),
        ):
            content_type = ContentType.objects.get_for_model(records[0]) if records else None
            verified += [
                Verification(
                    content_type=content_type,
                    object_id=record.pk,
                    subject=subject(record),
                    record_version=record.version,
                    verified_by=self.actor,
                )
                for record in records
                if self.rng.random() < 0.3
            ]
        verified += [
            Verification(
                content_type=ContentType.objects.get_for_model(Participant),
                object_id=p.pk,
                subject=p.participant_id,
                record_version=p.version,
                verified_by=self.actor,
            )
            for p in participants
            if self.rng.random() < 0.3
        ]
        self._create(Verification, verified)
        signed = [v.pk for v in visits if v.code == "baseline" and self.rng.random() < 0.2]
        visit_type = ContentType.objects.get_for_model(Visit)
        signed_visits = (
            Visit.objects.filter(pk__in=signed)
            .select_related(
                "participant", "vitals", "oxygenation", "pft", "six_mwt", "hrct", "survival"
            )
            .prefetch_related("labs")
        )
        self._create(
            Signature,
            [
                Signature(
                    content_type=visit_type,
                    object_id=visit.pk,
                    subject=visit.participant.participant_id,
                    scope="visit",
                    signer=self.actor,
                    printed_name=self.actor.printed_name,
                    meaning=SignatureMeaning.REVIEWED,
                    record_sha256=records_sha256(visit.signature_records()),
                )
                for visit in signed_visits
            ],
        )

    def _derived(self, participants: list[Participant]) -> None:
        """What the services would maintain from these rows: the stored schedules."""
        from outcomes.schedule_table import schedule_rebuild

        schedule_rebuild(participant_ids=[p.pk for p in participants], today=self.today)
