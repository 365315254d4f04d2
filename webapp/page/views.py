"""The drawing page: one template; everything it shows comes from the REST API."""

from __future__ import annotations

from csp.decorators import csp_replace
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@ensure_csrf_cookie
@csp_replace({"style-src-attr": None})  # the page needs no inline style attribute: the site's policy without it
def index(request: HttpRequest) -> HttpResponse:
    """Serve the page and set the CSRF cookie its fetch calls send back as X-CSRFToken."""
    return render(request, "page/index.html")
