"""One SELECT and a template; one INSERT."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, HttpResponseNotAllowed
from django.shortcuts import render


def read(request):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT participant_id, enrollment_date FROM enrollment_participant "
            "ORDER BY number LIMIT 20"
        )
        rows = cursor.fetchall()
    return render(request, "floor/read.html", {"rows": rows})


def write(request):
    # bench_floor_write is created by bench/load.py: the floor has no models or migrations.
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor_write (note, written_at) VALUES (%s, now())",
            [request.POST.get("note", "")[:200]],
        )
    return HttpResponse("saved", content_type="text/plain")
