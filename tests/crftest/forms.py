from crf.forms import ClinicalRecordForm
from tests.crftest.models import Observation


class ObservationForm(ClinicalRecordForm):
    class Meta:
        model = Observation
        fields = ["measured_on", "value", "unit", "note"]
