from celery import shared_task

from tests.crftest.models import Observation


@shared_task(name="tests.crftest.tasks.observation_annotate")
def observation_annotate(pk: int, note: str) -> None:
    Observation.objects.filter(pk=pk).update(note=note)
