"""Signals of the clinical-record layer, for derived data kept by upper layers."""

from django.dispatch import Signal

# Sent inside the transaction of every create, change and retirement of a clinical record
# (crf.services), with `record` and `created`. A receiver keeps derived data in step (the stored
# schedule: outcomes.schedule_table); it must not write clinical records itself.
record_saved = Signal()
