from django.http import HttpRequest, HttpResponse


def login_view(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def logout_view(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def tokens(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")


def token_revoke(request: HttpRequest, **kwargs: object) -> HttpResponse:
    return HttpResponse("TODO")
