"""Import first in a benchmark: fake credentials and quiet Powertools, so boto3 only ever talks to moto and
nothing reaches X-Ray or CloudWatch. Benchmarks may add their own variables after importing this."""

import os

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "POWERTOOLS_METRICS_DISABLED": "1",
        "IMPRESSION_TOKEN_SECRET": "benchmark-secret-benchmark-secret-0123",
    }
)
os.environ.pop("DYNAMODB_ENDPOINT_URL", None)
