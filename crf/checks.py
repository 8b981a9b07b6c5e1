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


@checks.register(checks.Tags.models)
def clinical_records_keep_the_shared_fields(app_configs, **kwargs):
    """A clinical model must not redefine a field of ClinicalRecord (e.g. its own `status`)."""
    from crf.models import ClinicalRecord

    shared = {field.name: field for field in ClinicalRecord._meta.fields}
    errors = []
    for model in apps.get_models():
        if not issubclass(model, ClinicalRecord):
            continue
        for name, base_field in shared.items():
            field = model._meta.get_field(name)
            same = (
                type(field) is type(base_field)
                and str(field.verbose_name) == str(base_field.verbose_name)
                and list(field.choices or []) == list(base_field.choices or [])
            )
            if not same:
                errors.append(
                    checks.Error(
                        f"{model._meta.label}.{name} redefines a field of every clinical record.",
                        hint="Give the clinical field another name.",
                        obj=model,
                        id="crf.E002",
                    )
                )
    return errors


@checks.register(checks.Tags.models)
def clinical_records_carry_the_database_rules(app_configs, **kwargs):
    """Every concrete clinical record carries every database rule of clinical records (no
    delete, version, lock, lock over new rows, unlock alone, statuses forward)."""
    import pgtrigger

    from crf.models import ClinicalRecord, clinical_triggers

    rules = {trigger.name for trigger in clinical_triggers()}
    carried: dict[type, set[str]] = {}
    for model, trigger in pgtrigger.registered():
        carried.setdefault(model, set()).add(trigger.name)
    errors = []
    for model in apps.get_models():
        if not issubclass(model, ClinicalRecord):
            continue
        missing = sorted(rules - carried.get(model, set()))
        if missing:
            errors.append(
                checks.Error(
                    f"{model._meta.label} lacks the database rules {', '.join(missing)}.",
                    hint="Decorate the model with crf.models.audited.",
                    obj=model,
                    id="crf.E003",
                )
            )
    return errors
