"""Routes: the OpenAPI document of the whole API and a Swagger UI over it (no auth)."""

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.swagger_ui import generate_swagger_html

router = Router()
TAGS = ["Platform"]
# An exact version with Subresource Integrity hashes (sha384 of the npm package's files, which jsDelivr serves as
# they are): the page runs on the API's own origin, where users paste API keys, so a changed CDN file must not run.
SWAGGER_CDN = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0"
SWAGGER_JS_INTEGRITY = "sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9"
SWAGGER_CSS_INTEGRITY = "sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I"


@router.get("/openapi.json", tags=TAGS, summary="OpenAPI document", response_description="OpenAPI 3.1 document")
def openapi_document() -> Response[str]:
    from arbiter.api.openapi import openapi_json  # deferred: the document lists this module's routes too

    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


@router.get("/docs", tags=TAGS, summary="Swagger UI", response_description="HTML page")
def swagger_ui() -> Response[str]:
    from arbiter.api.openapi import openapi_json

    html = generate_swagger_html(
        spec=openapi_json().replace("</", "<\\/"),
        swagger_js=f"{SWAGGER_CDN}/swagger-ui-bundle.js",
        swagger_css=f"{SWAGGER_CDN}/swagger-ui.css",
        swagger_base_url=SWAGGER_CDN,
        oauth2_config=None,
    )
    js, css = f"{SWAGGER_CDN}/swagger-ui-bundle.js", f"{SWAGGER_CDN}/swagger-ui.css"
    html = html.replace(
        f"<script src='{js}'>", f"<script src='{js}' integrity='{SWAGGER_JS_INTEGRITY}' crossorigin='anonymous'>"
    ).replace(f"href='{css}'>", f"href='{css}' integrity='{SWAGGER_CSS_INTEGRITY}' crossorigin='anonymous'>")
    return Response(status_code=200, content_type="text/html", body=html)
