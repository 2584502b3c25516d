"""tagent.cloud: servers and server groups beyond Kubernetes, behind one provider boundary.

    cloud = AwsCloud(AwsSettings(regions=["eu-west-1"]))          # tagent.cloud.aws
    cloud.servers("eu-west-1") -> list[Server]; cloud.stop("eu-west-1", "i-0abc") ...

`base` holds the provider-neutral types (`Server`, `ServerGroup`, `CloudProvider`, the references the detect
engine and the guard see); `policy` the price table, the idle schedule and protection; `terraform` the pull
request that replaces an API call for Terraform-managed resources. Each provider is one package
(`tagent.cloud.aws`); Azure or GCP would be `tagent.cloud.azure` / `tagent.cloud.gcp` implementing
`CloudProvider`, with their own catalog actions, and nothing else changes.
"""

from tagent.cloud.base import CloudProvider, Server, ServerGroup, group_ref, server_ref

__all__ = ["CloudProvider", "Server", "ServerGroup", "group_ref", "server_ref"]
