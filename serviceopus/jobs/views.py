from django.http import HttpRequest, HttpResponse


def dashboard(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def board(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def bulk_transition(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_quick(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def job_transition(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def line_item_add(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def line_item_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def line_item_remove(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def note_add(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")
