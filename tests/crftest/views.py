from django.shortcuts import get_object_or_404

from accounts.access import require
from accounts.roles import Perm
from crf.views import edit_record
from tests.crftest.forms import ObservationForm
from tests.crftest.models import Observation


def observation_create(request):
    require(request, Perm.ENTER_DATA)
    return edit_record(
        request, form=ObservationForm(request.POST or None, instance=Observation()), success_url="/"
    )


def observation_edit(request, pk: int):
    record = get_object_or_404(Observation, pk=pk)
    require(request, Perm.ENTER_DATA, record)
    return edit_record(
        request,
        form=ObservationForm(request.POST or None, instance=record),
        success_url=record.history_url(),
    )
