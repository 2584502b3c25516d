"""A drafted playbook as the API answers it: the Proposal, plus the pull request's address on top."""

from __future__ import annotations

from typing import Any

from tagent.policy.drafts import Proposal


def proposal_view(proposal: Proposal) -> dict[str, Any]:
    """`{status, branch, pull_request_url, problems, description_file, ...}`: every field of the Proposal."""
    data = proposal.as_dict()
    data["pull_request_url"] = proposal.pull_request.url if proposal.pull_request else None
    return data
