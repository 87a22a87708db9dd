"""The base of the request bodies a client configures with: an unknown field is refused (422 with its name),
never ignored, so a misspelt field cannot pass as a request that changed nothing."""

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
