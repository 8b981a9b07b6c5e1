"""Report PDFs in an S3-compatible bucket: built by a real worker, streamed through the portal.

A local S3 server (moto's server mode, over real HTTP on a free port) stands in for the bucket.
"""

from __future__ import annotations

import hashlib
import time
import urllib.request

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from reports.models import Report, ReportDownload
from reports.storage import report_storage
from trialportal.env import env_reports_storage

BUCKET = "trial-reports"
PREFIX = "portal"


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    # Moto keeps its buckets in this process, beyond the server: empty them for the next test.
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    server.stop()


@pytest.fixture
def bucket(s3_server, settings, monkeypatch):
    """An empty private bucket, and the "reports" storage pointed at it as the environment would."""
    for name, value in {
        "REPORTS_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": s3_server,
        "AWS_S3_REGION_NAME": "us-east-1",
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_LOCATION": PREFIX,
        "AWS_ACCESS_KEY_ID": "test-key",
        "AWS_SECRET_ACCESS_KEY": "test-secret",
    }.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {**settings.STORAGES, "reports": env_reports_storage()}
    return client


def objects(client) -> dict[str, bytes]:
    listing = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        item["Key"]: client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        for item in listing
    }


def public_grants(client, key: str) -> list[dict]:
    grants = client.get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    return [g for g in grants if g["Grantee"].get("Type") == "Group"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.worker
def test_a_worker_builds_the_report_into_the_bucket_and_the_portal_streams_it(
    bucket, celery_worker, client_for, monitor, dsmb_member, settings
):
    client = client_for(monitor)
    response = client.post("/reports/", {"cutoff": timezone.localtime().strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    deadline = time.monotonic() + 15
    while (report := Report.objects.get()).state != "ready":
        assert report.state != "failed", report.error
        assert time.monotonic() < deadline, report.state
        time.sleep(0.1)

    key = f"{PREFIX}/reports/dsmb-report-{report.pk}.pdf"
    assert report_storage.bucket_name == BUCKET and report_storage.exists(report.file.name)
    stored = objects(bucket)
    assert list(stored) == [key]
    pdf = stored[key]
    assert pdf.startswith(b"%PDF") and len(pdf) == report.size
    assert hashlib.sha256(pdf).hexdigest() == report.sha256
    assert public_grants(bucket, key) == []  # private: no grant to AllUsers or AuthenticatedUsers
    assert not (settings.MEDIA_ROOT / "reports").exists()  # nothing on this host's disk

    download = client_for(dsmb_member).get(f"/reports/{report.pk}/download/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == pdf
    assert "no-store" in download["Cache-Control"]
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Length"] == str(len(pdf))
    assert f'filename="dsmb-report-{report.pk}.pdf"' in download["Content-Disposition"]
    assert ReportDownload.objects.get().user == dsmb_member


@pytest.mark.django_db
def test_a_rebuild_replaces_its_object_and_a_missing_object_is_not_logged_as_downloaded(
    bucket, monitor, dsmb_member, client_for
):
    from reports import services

    report = services.report_request(cutoff=timezone.now(), actor=monitor)
    assert services.report_build(report.pk)
    # Built again (a worker that took the build over after a lapsed lease): one object remains.
    Report.objects.filter(pk=report.pk).update(state="building", lease_until=timezone.now())
    assert services.report_build(report.pk)
    assert Report.objects.get(pk=report.pk).attempts == 2
    assert list(objects(bucket)) == [f"{PREFIX}/reports/dsmb-report-{report.pk}.pdf"]

    bucket.delete_object(Bucket=BUCKET, Key=f"{PREFIX}/reports/dsmb-report-{report.pk}.pdf")
    client = client_for(dsmb_member)
    client.raise_request_exception = False
    assert client.get(f"/reports/{report.pk}/download/").status_code == 500
    assert not ReportDownload.objects.exists()


@pytest.mark.django_db
def test_reports_kept_on_the_local_disk_are_copied_into_the_bucket_checked(
    bucket, monitor, settings, tmp_path, dsmb_member, client_for
):
    from django.core.files.storage import FileSystemStorage

    from reports import services

    old = tmp_path / "old-media"
    local = FileSystemStorage(location=old)
    built = []
    for _ in range(2):
        report = services.report_request(cutoff=timezone.now(), actor=monitor)
        pdf, pages = services.report_render(report)
        name = local.save(f"reports/dsmb-report-{report.pk}.pdf", ContentFile(pdf))
        Report.objects.filter(pk=report.pk).update(
            state="ready", file=name, size=len(pdf), pages=pages,
            sha256=hashlib.sha256(pdf).hexdigest(), finished_at=timezone.now(),
        )  # fmt: skip
        built.append((report.pk, name, pdf))
    # The second file was altered on disk after it was built: it is reported, not copied.
    (old / built[1][1]).write_bytes(built[1][2] + b"tampered")

    with pytest.raises(CommandError, match=f"report {built[1][0]}"):
        call_command("reports_to_storage", source=str(old))
    assert set(objects(bucket)) == {f"{PREFIX}/{built[0][1]}"}
    download = client_for(dsmb_member).get(f"/reports/{built[0][0]}/download/")
    assert b"".join(download.streaming_content) == built[0][2]

    # Run again once the file is put right: only the missing one is copied.
    (old / built[1][1]).write_bytes(built[1][2])
    call_command("reports_to_storage", source=str(old))
    assert objects(bucket) == {f"{PREFIX}/{name}": pdf for _pk, name, pdf in built}
