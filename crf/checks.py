from django.apps import apps
from django.core import checks


@checks.register(checks.Tags.models)
def clinical_records_are_audited(app_configs, **kwargs):
    """Every concrete clinical record must be tracked by the audit trail."""
    import pghistory.models

    from crf.models import ClinicalRecord

    tracked = {
        model.pgh_tracked_model
        for model in apps.get_models()
        if issubclass(model, pghistory.models.Event) and hasattr(model, "pgh_tracked_model")
    }
    errors = []
    for model in apps.get_models():
        if issubclass(model, ClinicalRecord) and model not in tracked:
            errors.append(
                checks.Error(
                    f"{model._meta.label} is a clinical record without an audit trail.",
                    hint="Decorate the model with crf.models.audited.",
                    obj=model,
                    id="crf.E001",
                )
            )
    return errors
