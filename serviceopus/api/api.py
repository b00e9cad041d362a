"""The one ninja API object: mounts each app's router under /api/v1 and maps every error to one body
shape ({"error": {code, message, fields: [{path, message}], details}})."""

import functools
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import URLPattern, URLResolver, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from serviceopus.core.errors import DomainError, InvalidInput
from serviceopus.jobs.pagination import BadCursor

from .auth import TokenAuth
from .idempotency import MAX_KEY_LENGTH
from .schemas import error_body

# A DomainError's code decides its status where the code says more than the class does.
STATUS_FOR_CODE = {"forbidden": 403, "not_found": 404, "invalid": 422}
ERROR_REF = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}}}
IDEMPOTENCY_HEADER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Any unique string (a UUID is best). Sending the same key again with the same body returns the stored response "
        "(header Idempotent-Replayed: true); with another body, 422; while the first request still runs, 409."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": "^[!-~][ -~]*$"},
}


class ServiceOpusAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_shared_behaviour(schema)

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # ninja answers an unsupported method with a plain-text 405, and Django answers an unknown
        # path with an HTML 404; under /api/v1 both get the one error body too.
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_method_not_allowed(pattern.callback)
        urls.append(re_path(r"^.*$", _unknown_path))
        return urls


def _json_method_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    @functools.wraps(view)  # keeps csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # ninja's bare root view (/api/v1/); operations answer 404 themselves
            return _unknown_path(request)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
            allowed = sorted(m.strip() for m in response.get("Allow", "").split(",") if m.strip())
            replaced = JsonResponse(error_body("method_not_allowed", f"This path accepts: {', '.join(allowed)}.", details={"allowed": allowed}), status=405)
            replaced["Allow"] = ", ".join(allowed)
            return replaced
        return response

    return wrapper


@csrf_exempt
def _unknown_path(request: HttpRequest) -> HttpResponse:
    return JsonResponse(error_body("not_found", "There is no such API path."), status=404)


def document_shared_behaviour(schema: Any) -> Any:
    """Add what every operation shares to the document, so it stays truthful: 401 for a missing or
    bad token, 400 for a body that is not JSON, and the Idempotency-Key header on every POST (with
    the 409/422 it can answer)."""
    for operations in schema["paths"].values():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            if operation.get("security"):
                answers.setdefault(401, {"description": "Unauthorized", **ERROR_REF})
            if "requestBody" in operation:
                answers.setdefault(400, {"description": "Bad Request", **ERROR_REF})
                answers.setdefault(422, {"description": "Unprocessable Entity", **ERROR_REF})
            if method == "post":
                operation.setdefault("parameters", []).append(IDEMPOTENCY_HEADER)
                answers.setdefault(409, {"description": "Conflict", **ERROR_REF})
                answers.setdefault(422, {"description": "Unprocessable Entity", **ERROR_REF})
            operation["responses"] = dict(sorted(answers.items(), key=lambda item: int(item[0])))
    return schema


api = ServiceOpusAPI(
    title="Service Opus API",
    version="1",
    description=(
        "Job management for trades businesses. Authenticate with a personal API token: `Authorization: Bearer <token>`. "
        "Every error has one shape: `{error: {code, message, fields: [{path, message}], details}}`. "
        "Lists are cursor-paginated: pass `next_cursor` or `prev_cursor` back as `cursor`. "
        "Edits (PATCH) carry the `version` you read; a stale one is refused with 409 `stale`."
    ),
    urls_namespace="api",
    auth=[TokenAuth(), django_auth],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


# Views name their schema parameters `body` (JSON body) and `params` or `page` (query schemas).
SCHEMA_PARAMS = {"body": {"body"}, "query": {"params", "page"}}


def _loc_path(loc: tuple | list) -> str:
    parts = [str(part) for part in loc]
    if len(parts) >= 2 and parts[1] in SCHEMA_PARAMS.get(parts[0], ()):
        del parts[1]  # the view's parameter name: "body.body.name" → "body.name"
    return ".".join(parts)


def _message(err: dict) -> str:
    message = str(err.get("msg", "Invalid value."))
    return message.removeprefix("Value error, ")


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for err in exc.errors:
        fields.setdefault(_loc_path(err.get("loc", ())), _message(err))
    return api.create_response(request, error_body("invalid", "The request is not valid.", fields), status=422)


@api.exception_handler(InvalidInput)
def on_invalid_input(request: HttpRequest, exc: InvalidInput) -> HttpResponse:
    fields = {f"body.{k}": v for k, v in exc.fields.items()}
    return api.create_response(request, error_body("invalid", exc.message, fields), status=422)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = STATUS_FOR_CODE.get(exc.code, exc.http_status)
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
    response = api.create_response(request, error_body("unauthenticated", "Send a valid API token: Authorization: Bearer <token>."), status=401)
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    code = {400: "bad_request", 403: "forbidden"}.get(exc.status_code, "error")  # 403: a session POST without its CSRF token
    return api.create_response(request, error_body(code, str(exc)), status=exc.status_code)


def _mount() -> None:
    from serviceopus.accounts.api import router as accounts_router
    from serviceopus.billing.api import router as billing_router
    from serviceopus.closeout.api import router as closeout_router
    from serviceopus.crew.api import router as crew_router
    from serviceopus.customers.api import router as customers_router
    from serviceopus.dispatch.api import router as dispatch_router
    from serviceopus.field.api import router as field_router
    from serviceopus.inventory.api import router as inventory_router
    from serviceopus.jobs.api import router as jobs_router

    api.add_router("/", accounts_router)
    api.add_router("/", customers_router)
    api.add_router("/", crew_router)
    api.add_router("/", jobs_router)
    api.add_router("/", dispatch_router)
    api.add_router("/", field_router)
    api.add_router("/", closeout_router)
    api.add_router("/", inventory_router)
    api.add_router("/", billing_router)


_mount()
