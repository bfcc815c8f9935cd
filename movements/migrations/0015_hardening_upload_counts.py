"""The list of uploads shows rows and errors from two small fields, never from the (possibly large) report."""

from django.db import migrations, models


def count_from_reports(apps, schema_editor):
    ReferralUpload = apps.get_model("movements", "ReferralUpload")
    for upload in ReferralUpload.objects.only("report").iterator(chunk_size=20):
        report = upload.report or {}
        errors = report.get("error_count", len(report.get("errors", [])))
        ReferralUpload.objects.filter(pk=upload.pk).update(row_count=report.get("rows", 0), error_count=errors)


class Migration(migrations.Migration):

    dependencies = [
        ("movements", "0014_phone_region"),
    ]

    operations = [
        migrations.AddField(
            model_name="referralupload",
            name="error_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="referralupload",
            name="row_count",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(count_from_reports, migrations.RunPython.noop),
    ]
