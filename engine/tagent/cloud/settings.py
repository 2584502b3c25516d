"""Cloud settings as one small model the composition root embeds (AWS is off while `regions` is empty).

`tagent.settings.Settings` carries them flat, with the `aws_` prefix (so the environment says
`TAGENT_AWS_REGIONS`, `TAGENT_AWS_ENDPOINT_URL` ...); `AwsSettings.from_settings(settings)` picks them up.
Credentials are never settings: boto3's standard chain finds them.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tagent.model.policy import known_timezone

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"

DEFAULT_PRICES: dict[str, float] = {
    # On-demand Linux prices in USD per hour (us-east-1); override with TAGENT_AWS_PRICES.
    "t3.nano": 0.0052, "t3.micro": 0.0104, "t3.small": 0.0208, "t3.medium": 0.0416, "t3.large": 0.0832,
    "t3.xlarge": 0.1664, "t3.2xlarge": 0.3328, "t2.micro": 0.0116, "t2.small": 0.023, "t2.medium": 0.0464,
    "m5.large": 0.096, "m5.xlarge": 0.192, "m5.2xlarge": 0.384, "m6i.large": 0.096, "m6i.xlarge": 0.192,
    "c5.large": 0.085, "c5.xlarge": 0.17, "c6i.large": 0.085, "r5.large": 0.126, "r6i.large": 0.126,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Schedule(_Strict):
    """When idle servers may be stopped: `from`..`to` (across midnight when `to` < `from`) on `days`."""

    from_: str = Field(default="19:00", alias="from", pattern=_HHMM)
    to: str = Field(default="07:00", pattern=_HHMM)
    days: tuple[Day, ...] = DAYS
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        return known_timezone(v)

    def open_at(self, at: datetime) -> bool:
        """Whether `at` (timezone-aware) is inside the schedule. A window across midnight belongs to the day
        it starts on."""
        local = at.astimezone(ZoneInfo(self.timezone))
        start, end, now = time.fromisoformat(self.from_), time.fromisoformat(self.to), local.time()
        day = DAYS[local.weekday()]
        if start <= end:
            return day in self.days and start <= now < end
        if now >= start:
            return day in self.days
        return now < end and DAYS[(local.weekday() - 1) % 7] in self.days

    def __str__(self) -> str:
        days = "every day" if set(self.days) == set(DAYS) else ",".join(self.days)
        return f"{self.from_}-{self.to} {self.timezone} {days}"


class TerraformTarget(_Strict):
    """Where the Terraform code of one resource lives: a Git repository (clone URL and forge name), the
    variables file, and the variable that holds the resource's desired capacity."""

    repo_url: str = Field(min_length=1)
    forge_repo: str = Field(min_length=1)  # owner/name on the forge
    file: str = Field(min_length=1, pattern=r"^[^/\\][^\\]*\.(tf|tfvars)$")
    variable: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    branch: str = "main"

    @field_validator("file")
    @classmethod
    def _inside(cls, v: str) -> str:
        if ".." in v.split("/"):
            raise ValueError(f"{v!r} leaves the repository")
        return v


class AwsSettings(_Strict):
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None
    prices: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    currency: str = "USD"
    idle_schedule: Schedule = Field(default_factory=Schedule)
    protected_regions: tuple[str, ...] = ()
    protected_accounts: tuple[str, ...] = ()
    terraform: dict[str, TerraformTarget] = Field(default_factory=dict)  # "region/group name" or "group name"

    @field_validator("regions", "protected_regions", "protected_accounts", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        """`TAGENT_AWS_REGIONS=eu-west-1,us-east-1` as well as a list."""
        return tuple(p.strip() for p in v.split(",") if p.strip()) if isinstance(v, str) else v

    @field_validator("regions", "protected_regions")
    @classmethod
    def _regions(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [r for r in v if not _REGION.match(r)]
        if bad:
            raise ValueError(f"not an AWS region name: {', '.join(map(repr, bad))} (like eu-west-1)")
        return tuple(dict.fromkeys(v))

    @field_validator("prices")
    @classmethod
    def _prices(cls, v: dict[str, float]) -> dict[str, float]:
        bad = [k for k, p in v.items() if not p >= 0]
        if bad:
            raise ValueError(f"hourly prices must be >= 0: {', '.join(bad)}")
        return {**DEFAULT_PRICES, **v}

    @property
    def enabled(self) -> bool:
        return bool(self.regions)

    @classmethod
    def from_settings(cls, settings: Any) -> AwsSettings:
        """The `aws_*` fields of the application settings (absent ones keep their defaults)."""
        values = {name: getattr(settings, f"aws_{name}") for name in cls.model_fields
                  if getattr(settings, f"aws_{name}", None) is not None}
        return cls(**values)
