"""Load the CTCAE v5.0 terms (safety/data/ctcae_v5_terms.csv; provenance in its README)."""

import csv
from pathlib import Path

from django.db import migrations

CSV = Path(__file__).resolve().parent.parent / "data" / "ctcae_v5_terms.csv"


def load_terms(apps, schema_editor):
    CtcaeTerm = apps.get_model("safety", "CtcaeTerm")
    with CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    CtcaeTerm.objects.bulk_create(
        [
            CtcaeTerm(
                meddra_code=int(row["meddra_code"]),
                soc=row["soc"],
                term=row["term"],
                grade1=row["grade1"],
                grade2=row["grade2"],
                grade3=row["grade3"],
                grade4=row["grade4"],
                grade5=row["grade5"],
                definition=row["definition"],
            )
            for row in rows
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]
    # Reversing leaves the rows; reversing 0001 then drops the table with them.
    operations = [migrations.RunPython(load_terms, migrations.RunPython.noop)]
