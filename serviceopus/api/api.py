"""The one ninja API object: mounts each app's router under /api/v1 and maps every error to one body
shape ({"error": {code, message, fields: [{path, message}], details}})."""

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.pagination import BadCursor

from .auth import TokenAuth
from .schemas import error_body

api = NinjaAPI(
    title="Service Opus API",
    version="1",
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def _loc_path(loc: tuple | list) -> str:
    return ".".join(str(part) for part in loc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = {}
    for err in exc.errors:
        fields.setdefault(_loc_path(err.get("loc", ())), err.get("msg", "Invalid value."))
    return api.create_response(request, error_body("invalid", "The request is not valid.", fields), status=422)


@api.exception_handler(InvalidInput)
def on_invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    fields = {f"body.{k}": v for k, v in exc.fields.items()}
    return api.create_response(request, error_body("invalid", exc.message, fields), status=422)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = 403 if exc.code == "forbidden" else exc.http_status
    return api.create_response(request, error_body(exc.code, exc.message, details=exc.details), status=status)


@api.exception_handler(BadCursor)
def on_bad_cursor(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return api.create_response(request, error_body("invalid", str(exc), {"query.cursor": str(exc)}), status=422)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "Not found."), status=404)


@api.exception_handler(ObjectDoesNotExist)
def on_does_not_exist(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "Not found."), status=404)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("unauthenticated", "Send a valid API token: Authorization: Bearer <token>."), status=401)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("error", str(exc)), status=exc.status_code)


def _mount() -> None:
    from serviceopus.crew.api import router as crew_router
    from serviceopus.customers.api import router as customers_router
    from serviceopus.jobs.api import router as jobs_router

    api.add_router("/", customers_router)
    api.add_router("/", crew_router)
    api.add_router("/", jobs_router)


_mount()
