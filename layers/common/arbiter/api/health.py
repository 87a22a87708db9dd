"""Route: liveness check, no auth (used by the local stack and uptime probes)."""

from aws_lambda_powertools.event_handler.api_gateway import Router
from pydantic import BaseModel

from arbiter import clock

router = Router()


class HealthOutput(BaseModel):
    status: str
    time: str


@router.get("/health", tags=["Platform"], summary="Health check")
def health() -> HealthOutput:
    return HealthOutput(status="ok", time=clock.now_iso())
