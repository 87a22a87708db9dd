"""Routes: the campaign simulator (seed 001, Simulator)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from arbiter.ads.serving import simulator
from arbiter.ads.serving.simulator_models import SimulateInput, SimulationOptionsOutput, SimulationOutput
from arbiter.auth.dependencies import Advertiser

router = Router()
TAGS = ["Ads: simulator"]


@router.post("/api/ads/campaigns/<id>/simulate", tags=TAGS, summary="Simulate pipeline bias")
def simulate(id: str, principal: Advertiser, body: Annotated[SimulateInput | None, Body()] = None) -> SimulationOutput:
    # Both fields are optional, so an empty request (no body) previews the campaign without a context.
    return simulator.simulate(principal, id, body or SimulateInput())


@router.get("/api/ads/campaigns/<id>/simulate/options", tags=TAGS, summary="Get simulation options")
def simulation_options(id: str, principal: Advertiser) -> SimulationOptionsOutput:
    return simulator.options(principal, id)
