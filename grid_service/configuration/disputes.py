"""disputes.toml (SPEC §11): how far a department may contest a case's deadline.

Optional; without it, the defaults below. A case returned ``returns_before_ruling`` times goes to
arbitration on its next return rather than back to the dispatcher; a dispatched case not signed
for (accepted) within ``acceptance_hours`` on the working clock is recorded late once; at most
``max_extensions`` extensions are approved per case; a suspension lasts at most
``suspension_max_days``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from grid_service.configuration.model import Strict


class DisputesConfig(Strict):
    returns_before_ruling: Annotated[int, Field(ge=0, le=10)] = 1
    acceptance_hours: Annotated[float, Field(gt=0, le=24 * 31)] = 2  # 签收: working hours after dispatch
    max_extensions: Annotated[int, Field(ge=0, le=10)] = 2
    suspension_max_days: Annotated[int, Field(ge=1, le=366)] = 366
