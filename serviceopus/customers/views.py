from django.http import HttpRequest, HttpResponse


def customer_list(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def customer_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def customer_detail(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def customer_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def location_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def location_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def contact_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def contact_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def asset_create(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def asset_edit(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def customer_options(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")
