"""Loads a function's handler from its CodeUri the way Lambda does (module file + attribute)."""

import importlib.util
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any


@cache
def load_handler(code_uri: Path, handler: str) -> Callable[[dict, Any], dict]:
    module_name, attribute = handler.rsplit(".", 1)
    source = Path(code_uri) / f"{module_name.replace('.', '/')}.py"
    # Each function folder has its own app.py; give each a unique module name so they do not collide.
    unique = f"arbiter_fn_{Path(code_uri).name}_{module_name}"
    spec = importlib.util.spec_from_file_location(unique, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return getattr(module, attribute)


class LambdaContext:
    """Just enough of Lambda's context object for Powertools."""

    function_name = "arbiter-local"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:arbiter-local"
    aws_request_id = "local-request"

    def __init__(self, function_name: str = "arbiter-local"):
        self.function_name = function_name

    def get_remaining_time_in_millis(self) -> int:
        return 10_000
