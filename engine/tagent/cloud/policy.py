"""What may be done to a cloud resource and what stopping it saves: protection, Terraform ownership, prices.

Protection is absolute: a server tagged `tagent.io/protect` (any value but "false"), or in a protected
region or account, is never changed by Tagent, whoever asks. Terraform ownership (`ManagedBy=terraform`,
or a mapping in the settings) turns a change into a pull request instead of an API call.
"""

from __future__ import annotations

from collections.abc import Mapping

from tagent.cloud.base import PROTECT_TAG, Server, ServerGroup
from tagent.cloud.settings import AwsSettings, TerraformTarget

MANAGED_BY = "ManagedBy"


def protection(settings: AwsSettings, *, region: str, tags: Mapping[str, str], account: str = "") -> str | None:
    """Why a resource is protected, or None."""
    value = tags.get(PROTECT_TAG)
    if value is not None and value.strip().lower() not in ("false", "no", "0"):
        return f"tagged {PROTECT_TAG}={value}"
    if region in settings.protected_regions:
        return f"region {region} is protected"
    if account and account in settings.protected_accounts:
        return f"account {account} is protected"
    return None


def server_protection(settings: AwsSettings, server: Server) -> str | None:
    return protection(settings, region=server.region, tags=server.tags, account=server.account)


def group_protection(settings: AwsSettings, group: ServerGroup) -> str | None:
    return protection(settings, region=group.region, tags=group.tags, account=group.account)


def terraform_target(settings: AwsSettings, group: ServerGroup) -> TerraformTarget | None:
    """The mapped Terraform code of a group (by `region/name`, then `name`)."""
    return settings.terraform.get(f"{group.region}/{group.name}") or settings.terraform.get(group.name)


def terraform_managed(settings: AwsSettings, group: ServerGroup) -> bool:
    return (group.tags.get(MANAGED_BY, "").strip().lower() == "terraform"
            or terraform_target(settings, group) is not None)


def hourly_price(settings: AwsSettings, instance_type: str) -> float | None:
    return settings.prices.get(instance_type)


def money(amount: float, currency: str) -> str:
    return f"{amount:.4f} {currency}" if amount < 1 else f"{amount:.2f} {currency}"
