from django.shortcuts import render

from accounts.access import can
from accounts.roles import Perm


def home(request):
    """The landing page: who you are and what your role lets you do."""
    user = request.user
    abilities = [perm.label for perm in Perm if can(user, perm)]
    return render(request, "dashboards/home.html", {"abilities": abilities})
