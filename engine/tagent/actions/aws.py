"""AWS actions: stop, start and reboot an EC2 instance; set an Auto Scaling group's desired capacity.

Same contract as the Kubernetes actions (guard, journal, audit through `BaseAction`). The target the guard
judges is `Instance/<region>/<id>` or `ServerGroup/<region>/<name>`. Protected resources (tag
`tagent.io/protect`, protected region or account) are refused in the plan, before the guard reserves
anything. A capacity outside the group's min..max is refused the same way. A Terraform-managed group is
never changed through the API: the plan says `via: terraform`, and the step opens a pull request that edits
the variable instead. The printed command is the AWS CLI equivalent (with `--endpoint-url` when Tagent
talks to another endpoint), runnable as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tagent.actions.base import ActionContext, BaseAction
from tagent.cloud.aws.provider import AwsCloud, cli_endpoint
from tagent.cloud.base import GROUP_KIND, INSTANCE_KIND, Server
from tagent.cloud.policy import (
    group_protection,
    hourly_price,
    money,
    server_protection,
    terraform_managed,
    terraform_target,
)
from tagent.cloud.terraform import TerraformProposer
from tagent.errors import ConfigError, GuardRefusal, PermanentError
from tagent.model import StepResult, WorkloadRef

STOPPED = ("stopping", "stopped")


class _Aws(BaseAction):
    def aws(self) -> AwsCloud:
        aws: AwsCloud = self.need(self.deps.aws, "AWS (TAGENT_AWS_REGIONS)")
        return aws

    def command(self, values: Mapping[str, Any]) -> str:
        endpoint = self.deps.aws.endpoint_url if self.deps.aws is not None else None
        return super().command(values) + cli_endpoint(endpoint)


class _Instance(_Aws):
    verb = ""

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        return WorkloadRef(kind=INSTANCE_KIND, namespace=values["region"] or "", name=values["instance_id"] or "")

    def server(self, values: dict[str, Any]) -> Server:
        if not values.get("instance_id") or not values.get("region"):
            raise PermanentError(f"{self.name} needs instance_id and region")
        return self.aws().server(values["region"], values["instance_id"])

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        server = self.server(values)
        why = server_protection(self.aws().settings, server)
        if why is not None:
            raise GuardRefusal("protected", f"{server.label} is protected ({why}): Tagent never {self.verb} it")
        return {"from_state": server.state, "instance_type": server.type, "name": server.tags.get("Name", "")}


class Ec2Stop(_Instance):
    """Stop an instance. A stop that happens opens a period in the savings ledger (one instance for the
    duration), and the hourly price of its type from the price table is recorded with it. A member of an
    Auto Scaling group is refused: the group would replace it (scale the group instead)."""

    name = "aws.ec2_stop"
    verb = "stops"
    in_doubt = "verify"

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        plan = super()._plan(values, ctx)
        group = self.server(values).group
        if group:
            raise GuardRefusal("in_group", f"{values['instance_id']} belongs to the Auto Scaling group {group}, which "
                               "would replace a stopped instance: scale the group instead")
        return plan

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        state = self.server(values).state
        if state in STOPPED and plan["from_state"] not in STOPPED:
            self._ledger(values, plan, ctx)
            return f"the instance is already {state}"
        return None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        region, ident = values["region"], values["instance_id"]
        if plan["from_state"] in STOPPED:
            return self.ok(f"{ident} is already {plan['from_state']}", mutated=False)
        previous = self.aws().stop(region, ident)
        price = self._ledger(values, plan, ctx)
        settings = self.aws().settings
        saving = (f"; saves {money(price, settings.currency)} per hour ({plan['instance_type']})"
                  if price is not None else f"; no price for {plan['instance_type']} in the price table")
        return self.ok(f"stopped {ident} in {region} (was {previous}){saving}", previous_state=previous,
                       hourly_saving=price, currency=settings.currency, instance_type=plan["instance_type"])

    def _ledger(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> float | None:
        settings = self.aws().settings
        price = hourly_price(settings, plan["instance_type"])
        ref = self._target(values, ctx)
        savings = self.deps.store.savings
        if ctx.run_id is not None and any(s.run_id == ctx.run_id and s.target == ref for s in savings.list(limit=50)):
            return price
        by = ctx.origin if isinstance(ctx.origin, str) else f"rule {ctx.origin.rule}"
        cost = (f"{price} {settings.currency}/h" if price is not None else "price unknown")
        savings.open(ref, from_replicas=1, to_replicas=0, at=self.deps.clock(), run_id=ctx.run_id,
                     reason=f"stopped by {by}: {plan['instance_type']} at {cost}")
        return price


class Ec2Start(_Instance):
    name = "aws.ec2_start"
    verb = "starts"
    in_doubt = "verify"

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        state = self.server(values).state
        return f"the instance is already {state}" if state in ("pending", "running") else None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        region, ident = values["region"], values["instance_id"]
        if plan["from_state"] in ("pending", "running"):
            return self.ok(f"{ident} is already {plan['from_state']}", mutated=False)
        previous = self.aws().start(region, ident)
        self.deps.store.savings.close(self._target(values, ctx), at=self.deps.clock())
        return self.ok(f"started {ident} in {region} (was {previous})", previous_state=previous)


class Ec2Reboot(_Instance):
    name = "aws.ec2_reboot"
    verb = "reboots"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        if plan["from_state"] != "running":
            raise PermanentError(f"cannot reboot {values['instance_id']}: it is {plan['from_state']}, not running")
        self.aws().reboot(values["region"], values["instance_id"])
        return self.ok(f"rebooted {values['instance_id']} in {values['region']}")


class AsgSetCapacity(_Aws):
    """Set the desired capacity, within the group's min..max (refused otherwise). Terraform-managed groups get
    a pull request on their Terraform repository instead of an API call."""

    name = "aws.asg_set_capacity"
    in_doubt = "verify"

    def _target(self, values: dict[str, Any], ctx: ActionContext) -> WorkloadRef:
        return WorkloadRef(kind=GROUP_KIND, namespace=values["region"] or "", name=values["group"] or "")

    def _plan(self, values: dict[str, Any], ctx: ActionContext) -> dict[str, Any]:
        if not values.get("group") or not values.get("region"):
            raise PermanentError(f"{self.name} needs group and region")
        aws = self.aws()
        group = aws.group(values["region"], values["group"])
        why = group_protection(aws.settings, group)
        if why is not None:
            raise GuardRefusal("protected", f"Auto Scaling group {group.name} is protected ({why})")
        desired = int(values["desired"])
        if not group.minimum <= desired <= group.maximum:
            raise GuardRefusal("out_of_bounds", f"{desired} is outside {group.name}'s bounds "
                               f"{group.minimum}..{group.maximum} (min..max); nothing was changed")
        via = "terraform" if terraform_managed(aws.settings, group) else "api"
        return {"desired": desired, "from_desired": group.desired, "via": via}

    def _pods(self, plan: dict[str, Any], values: dict[str, Any]) -> tuple[int, int | None]:
        return max(0, int(plan["from_desired"]) - int(plan["desired"])), int(plan["from_desired"]) or None

    def _applied(self, plan: dict[str, Any], values: dict[str, Any], ctx: ActionContext) -> str | None:
        if plan["via"] != "api":
            return None
        now = self.aws().group(values["region"], values["group"]).desired
        return f"desired capacity already {now}" if now == plan["desired"] != plan["from_desired"] else None

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        aws, region, name, desired = self.aws(), values["region"], values["group"], int(plan["desired"])
        if plan["via"] == "terraform":
            return self._pull_request(aws, values, plan, ctx)
        if plan["from_desired"] == desired:
            return self.ok(f"{name} already wants {desired} instances", mutated=False, desired=desired)
        aws.set_capacity(region, name, desired)
        return self.ok(f"set {name} desired capacity from {plan['from_desired']} to {desired}", desired=desired,
                       from_desired=plan["from_desired"])

    def _pull_request(self, aws: AwsCloud, values: dict[str, Any], plan: dict[str, Any],
                      ctx: ActionContext) -> StepResult:
        group = aws.group(values["region"], values["group"])
        target = terraform_target(aws.settings, group)
        if target is None:
            raise ConfigError(f"{group.name} is managed by Terraform (tag ManagedBy=terraform) but no repository "
                              "and variables file are mapped for it (TAGENT_AWS_TERRAFORM): nothing was changed")
        proposer: TerraformProposer = self.need(self.deps.terraform, "a forge for Terraform pull requests")
        by = ctx.origin if isinstance(ctx.origin, str) else f"rule {ctx.origin.rule}"
        proposal = proposer.propose(group, desired=int(plan["desired"]), target=target, reason=by)
        if proposal.pull_request is None:
            return self.ok(f"{target.file} already sets {target.variable} = {proposal.new}", mutated=False,
                           via="terraform")
        pr = proposal.pull_request
        return self.ok(f"{group.name} is managed by Terraform: opened pull request #{pr.number} ({pr.url}) setting "
                       f"{target.variable} from {proposal.old} to {proposal.new}; merging it is the approval",
                       mutated=False, via="terraform", pull_request=pr.url, branch=proposal.branch)
