"""Deployability proof: every function, as `sam build` packages it, imports and answers its sample event.

For each function of template.yaml a clean interpreter (`python3.13 -I -S`: stdlib only) gets exactly what
Lambda gives it: the function's build folder (/var/task), the built layer's python/ folder (/opt/python) and a
boto3/botocore-only folder (the Lambda runtime's own boto3). It imports the handler, invokes it with
events/<Name>.json, and the answer must not be a 5xx. DynamoDB is a moto server with the template's tables and
the demo world each event expects (scripts/demo_world.py), so handlers really answer instead of failing early.

The template targets arm64 and compiled wheels (pydantic-core) built for arm64 cannot load on an x86_64 host,
so this builds a copy of template.yaml with the architecture swapped to the host's, into .aws-sam/check/.
`make sam-build` builds the real (arm64) template.

    python scripts/check_built_handlers.py --python python3.13 [--sam .venv-sam/bin/sam]
"""

import argparse
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT))  # `scripts.*` imports, as in the tests

CHECK_DIR = PROJECT_ROOT / ".aws-sam" / "check"  # .aws-sam/ is git-ignored and outside ruff
BUILD_DIR = CHECK_DIR / "build"
RUNTIME_BOTO3_DIR = CHECK_DIR / "runtime-boto3"
INVOKE_TIMEOUT_SECONDS = 60

# Runs inside the clean interpreter. argv: result file, event file, handler, then the sys.path entries.
INVOKER = r"""
import importlib, json, sys, time
result_file, event_file, handler, task_root, layer_root, boto3_root = sys.argv[1:7]
stdlib = list(sys.path)
sys.path[:] = [task_root, layer_root, *stdlib, boto3_root]  # Lambda: /var/task, /opt/python, runtime, boto3
module_name, attribute = handler.rsplit(".", 1)
started = time.perf_counter()
module = importlib.import_module(module_name)
imported = time.perf_counter()

class Context:
    function_name = "deploy-check"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:deploy-check"
    aws_request_id = "deploy-check"
    def get_remaining_time_in_millis(self):
        return 10_000

with open(event_file) as handle:
    event = json.load(handle)
response = getattr(module, attribute)(event, Context())
allowed = (task_root, layer_root, boto3_root, sys.base_prefix)
strays = sorted(
    f"{name}: {mod.__file__}" for name, mod in list(sys.modules.items())
    if getattr(mod, "__file__", None) and not mod.__file__.startswith(allowed)
)
with open(result_file, "w") as handle:
    json.dump({"response": response, "import_ms": round((imported - started) * 1000),
               "strays": strays, "sys_path": sys.path}, handle, default=str)
"""


def host_architecture() -> str:
    return "arm64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"


def run(command: list[str], **kwargs: Any) -> None:
    print("$", " ".join(str(part) for part in command), flush=True)
    subprocess.run(command, check=True, **kwargs)


def build_for_host(sam: Path, python: Path) -> None:
    """sam build of a copy of template.yaml retargeted at this machine's architecture (no container)."""
    CHECK_DIR.mkdir(parents=True, exist_ok=True)
    architecture = host_architecture()
    text = (PROJECT_ROOT / "template.yaml").read_text()
    (CHECK_DIR / "template.yaml").write_text(re.sub(r"\barm64\b", architecture, text))
    if BUILD_DIR.exists():
        shutil.rmtree(BUILD_DIR)
    env = {**os.environ, "PATH": f"{python.parent}{os.pathsep}{os.environ['PATH']}", "SAM_CLI_TELEMETRY": "0"}
    run(
        [
            str(sam),
            "build",
            "--template-file",
            str(CHECK_DIR / "template.yaml"),
            "--base-dir",
            str(PROJECT_ROOT),  # CodeUri/ContentUri stay relative to the project, not to the copy
            "--build-dir",
            str(BUILD_DIR),
            "--cache-dir",
            str(CHECK_DIR / "cache"),
            "--cached",
            "--parallel",
        ],
        cwd=PROJECT_ROOT,
        env=env,
    )


def runtime_boto3_version() -> str:
    """The boto3 the project pins (pyproject.toml), standing in for the one the Lambda runtime provides."""
    dependencies = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return next(dep.split("==", 1)[1] for dep in dependencies if dep.startswith("boto3=="))


def install_runtime_boto3(python: Path) -> Path:
    version = runtime_boto3_version()
    marker = RUNTIME_BOTO3_DIR / f".boto3-{version}"
    if not marker.exists():
        if RUNTIME_BOTO3_DIR.exists():
            shutil.rmtree(RUNTIME_BOTO3_DIR)
        run(
            [str(python), "-m", "pip", "install", "-q", "--target", str(RUNTIME_BOTO3_DIR), f"boto3=={version}"],
            env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
        )
        marker.touch()
    return RUNTIME_BOTO3_DIR


def all_functions() -> dict[str, dict[str, Any]]:
    from arbiter.devstack.template import load_template

    resources = load_template()["Resources"]
    return {name: res["Properties"] for name, res in resources.items() if res["Type"] == "AWS::Serverless::Function"}


def start_dynamodb() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per DynamoDB call is noise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def prepare_world(function_name: str, prefix: str) -> dict[str, str]:
    """Tables named <prefix><LogicalId> with the demo world this function's event expects; returns their env."""
    from arbiter import aws
    from arbiter.auth import keys
    from arbiter.devstack.tables import create_tables
    from arbiter.devstack.template import api_functions
    from scripts import demo_world

    aws.reset_clients()
    keys.forget_verified_keys()
    names = create_tables(aws.dynamodb_client(), prefix=prefix)  # also exports the names to os.environ
    aws.reset_clients()
    api_function = next((fn for fn in api_functions() if fn.logical_id == function_name), None)
    if api_function is not None:
        demo_world.seed(api_function)
    return names


def parameter_value(name: str, spec: dict[str, Any]) -> str:
    """A deploy-time parameter's value for this check: its default, else a stand-in long enough to be valid."""
    if "Default" in spec:
        return str(spec["Default"])
    return f"deploy-check-{name}-".ljust(max(int(spec.get("MinLength", 0)), 48), "x")


def template_environment(props: dict[str, Any]) -> dict[str, str]:
    """Globals + the function's own variables: literal strings and !Ref to template Parameters (not resources)."""
    from arbiter.devstack.template import load_template

    template = load_template()
    parameters = template.get("Parameters") or {}
    variables = {
        **template["Globals"]["Function"].get("Environment", {}).get("Variables", {}),
        **(props.get("Environment") or {}).get("Variables", {}),
    }
    env = {}
    for var, value in variables.items():
        if isinstance(value, str | int | float):
            env[var] = str(value)
        elif isinstance(value, dict) and value.get("Ref") in parameters:
            env[var] = parameter_value(value["Ref"], parameters[value["Ref"]])
    return env


def secret_environment(props: dict[str, Any], endpoint: str) -> dict[str, str]:
    """Variables naming a Secrets Manager secret of the template (!Ref of an AWS::SecretsManager::Secret): the
    secret is created in the check's moto server, so the built function reads its key from Secrets Manager as it
    does in AWS (boto3 reaches it through AWS_ENDPOINT_URL_SECRETS_MANAGER)."""
    import boto3

    from arbiter.devstack.template import load_template

    resources = load_template()["Resources"]
    env: dict[str, str] = {}
    for var, value in (props.get("Environment") or {}).get("Variables", {}).items():
        ref = value.get("Ref") if isinstance(value, dict) else None
        if ref is None or resources.get(ref, {}).get("Type") != "AWS::SecretsManager::Secret":
            continue
        client = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
        name = f"deploy-check-{ref}"
        try:
            env[var] = client.describe_secret(SecretId=name)["ARN"]
        except client.exceptions.ResourceNotFoundException:
            env[var] = client.create_secret(Name=name, SecretString=os.urandom(32).hex())["ARN"]
        env["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = endpoint
    return env


def lambda_environment(
    function_name: str, props: dict[str, Any], endpoint: str, tables: dict[str, str]
) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "deploy-check",
        "AWS_SECRET_ACCESS_KEY": "deploy-check",
        "AWS_SESSION_TOKEN": "deploy-check",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        **template_environment(props),
        **secret_environment(props, endpoint),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_TRACE_DISABLED": "1",  # no X-Ray daemon here
        "DYNAMODB_ENDPOINT_URL": endpoint,
        **tables,
    }


def invoke_built(python: Path, name: str, props: dict[str, Any], env: dict[str, str], boto3_dir: Path) -> dict:
    event_file = PROJECT_ROOT / "events" / f"{name.removesuffix('Function')}.json"
    if not event_file.is_file():
        raise SystemExit(f"{name}: missing {event_file.relative_to(PROJECT_ROOT)} (run make events)")
    task_root = BUILD_DIR / name
    layer_root = BUILD_DIR / "CommonLayer" / "python"
    with tempfile.TemporaryDirectory() as scratch:
        result_file = Path(scratch) / "result.json"
        command = [str(python), "-I", "-S", "-c", INVOKER, str(result_file), str(event_file), props["Handler"]]
        command += [str(task_root), str(layer_root), str(boto3_dir)]
        completed = subprocess.run(
            command, cwd=scratch, env=env, capture_output=True, text=True, timeout=INVOKE_TIMEOUT_SECONDS
        )
        if completed.returncode != 0 or not result_file.exists():
            return {"error": (completed.stderr or completed.stdout)[-3000:]}
        return json.loads(result_file.read_text())


def main() -> int:
    # Fake credentials and quiet Powertools for the in-process seeding, before anything reads them.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    os.environ.update(
        AWS_ACCESS_KEY_ID="deploy-check",
        AWS_SECRET_ACCESS_KEY="deploy-check",
        AWS_SESSION_TOKEN="deploy-check",
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_TRACE_DISABLED="1",
        POWERTOOLS_LOG_LEVEL="ERROR",
    )
    from arbiter.devstack.template import api_functions
    from scripts.demo_world import expected_status

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, type=Path, help="the python3.13 Lambda runs (builds + invokes)")
    parser.add_argument("--sam", type=Path, default=PROJECT_ROOT / ".venv-sam" / "bin" / "sam")
    parser.add_argument("--skip-build", action="store_true", help="reuse .aws-sam/check/build")
    args = parser.parse_args()
    python = Path(shutil.which(str(args.python)) or args.python).resolve()
    version = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[:2])"], capture_output=True)
    if version.stdout.strip() != b"(3, 13)":
        raise SystemExit(f"{python} is not a working python3.13 (Lambda's runtime): {version.stderr.decode()}")

    started = time.monotonic()
    if not args.skip_build:
        build_for_host(args.sam, python)
    boto3_dir = install_runtime_boto3(python)

    server, endpoint = start_dynamodb()
    os.environ["DYNAMODB_ENDPOINT_URL"] = endpoint
    failures: list[str] = []
    rows: list[tuple[str, str, str, str, str]] = []
    documented = {function.logical_id: str(expected_status(function)) for function in api_functions()}
    try:
        for index, (name, props) in enumerate(sorted(all_functions().items())):
            try:
                tables = prepare_world(name, prefix=f"f{index:03d}-")
            except Exception as error:  # report every function, not just the first broken one
                rows.append((name, "no world", documented.get(name, "-"), "-", props["Handler"]))
                failures.append(f"{name}: seeding its demo world failed: {error!r}"[:2000])
                continue
            outcome = invoke_built(python, name, props, lambda_environment(name, props, endpoint, tables), boto3_dir)
            if "error" in outcome:
                rows.append((name, "crash", documented.get(name, "-"), "-", props["Handler"]))
                failures.append(f"{name} raised:\n{outcome['error']}")
                continue
            response = outcome["response"]
            status = response.get("statusCode") if isinstance(response, dict) else None
            rows.append((name, str(status), documented.get(name, "-"), str(outcome["import_ms"]), props["Handler"]))
            if outcome["strays"]:
                failures.append(f"{name} imported modules from outside its package: {outcome['strays'][:5]}")
            if name in documented and not isinstance(status, int):
                failures.append(f"{name} is an API function but answered without a statusCode: {str(response)[:500]}")
            elif isinstance(status, int) and status >= 500:
                failures.append(f"{name} answered {status}: {str(response.get('body'))[:500]}")
    finally:
        server.stop()

    width = max(len(row[0]) for row in rows)
    # `documented` is the seed's success status; tests/test_events.py asserts it, this check only refuses 5xx.
    print(f"\n{'function'.ljust(width)}  {'status':>8}  documented  import ms  handler")
    for name, status, expected, import_ms, handler in rows:
        print(f"{name.ljust(width)}  {status:>8}  {expected:>10}  {import_ms:>9}  {handler}")
    print(f"\n{len(rows)} functions checked in {time.monotonic() - started:.0f} s ({host_architecture()} build)")
    if failures:
        print("\nFAILED:\n" + "\n\n".join(failures), file=sys.stderr)
        return 1
    print("deploy-check: every built handler imports with only its build folder + the layer and answers < 500")
    return 0


if __name__ == "__main__":
    sys.exit(main())
