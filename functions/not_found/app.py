"""The API's $default route: any method and path no other function serves gets 404 {"detail": ...}."""

from arbiter.http import lambda_handler_for

lambda_handler = lambda_handler_for()
